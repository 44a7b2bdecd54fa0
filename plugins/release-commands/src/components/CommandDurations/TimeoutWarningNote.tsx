import { TimeoutWarning } from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import WarningIcon from '@material-ui/icons/Warning';

/** A command trending toward its timeout: the icon and the reason. */
export function TimeoutWarningNote(props: { warning: TimeoutWarning }) {
  return (
    <Box display="flex" alignItems="flex-start" mt={0.5} color="warning.main">
      <WarningIcon fontSize="small" titleAccess="Warning" />
      <Box ml={0.5}>
        <Typography variant="caption" color="textPrimary">
          {props.warning.reason}
        </Typography>
      </Box>
    </Box>
  );
}
