import { ResponseErrorPanel } from '@backstage/core-components';
import { describeError } from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';

/**
 * A read that failed: what could not be loaded and the server's reason up
 * front, the full response behind it, and a way to try again.
 */
export function LoadError(props: {
  what: string;
  error: Error;
  onRetry: () => void;
}) {
  return (
    <>
      <ResponseErrorPanel
        error={props.error}
        title={`Could not load ${props.what}: ${describeError(props.error)}`}
      />
      <Box mt={2}>
        <Button variant="outlined" onClick={props.onRetry}>
          Try again
        </Button>
      </Box>
    </>
  );
}
