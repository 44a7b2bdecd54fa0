import { Link } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import { ReactNode } from 'react';

/** A link within the tab, its icon before its words. */
export function IconLink(props: {
  to: string;
  icon: ReactNode;
  children: ReactNode;
}) {
  return (
    <Link to={props.to}>
      <Box display="inline-flex" alignItems="center" gridGap={4}>
        {props.icon} {props.children}
      </Box>
    </Link>
  );
}
