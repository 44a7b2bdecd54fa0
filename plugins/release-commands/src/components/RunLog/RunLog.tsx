import { InfoCard, LogViewer } from '@backstage/core-components';
import {
  describeError,
  RunLogEnd,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import CircularProgress from '@material-ui/core/CircularProgress';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { useRunLog } from './useRunLog';

function download(fileName: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  URL.revokeObjectURL(url);
}

/**
 * A run's log as it is written: ANSI colours, search and line links come
 * from Backstage's LogViewer, which also keeps the newest line in view.
 */
export function RunLog(props: {
  runId: string;
  onEnd?: (end: RunLogEnd) => void;
}) {
  const log = useRunLog(props.runId, { onEnd: props.onEnd });

  let status;
  if (log.phase === 'following') {
    status = (
      <Box display="flex" alignItems="center" gridGap={8}>
        <CircularProgress size={14} />
        <span>Following the log as it is written…</span>
      </Box>
    );
  } else if (log.phase === 'reconnecting') {
    status = 'The connection was lost; following again in a moment…';
  } else if (log.phase === 'ended') {
    status = 'The run has ended; this is its whole log.';
  }

  return (
    <InfoCard title="Log" subheader={<span role="status">{status}</span>}>
      {log.phase === 'failed' && (
        <Alert severity="error">
          Could not read the log: {describeError(log.error)}
        </Alert>
      )}
      {log.phase === 'reconnecting' && (
        <Alert severity="warning">
          Lost the connection to the log. It resumes from the last line
          received.
        </Alert>
      )}
      {log.text === '' && log.phase !== 'failed' ? (
        <Typography variant="body2" color="textSecondary">
          {log.phase === 'ended'
            ? 'This run wrote no log.'
            : 'Waiting for the first line…'}
        </Typography>
      ) : (
        <Box height={480} data-testid="run-log">
          <LogViewer
            // A final newline would show as an empty last line.
            text={log.styledText.replace(/\n$/, '')}
            onDownloadLog={() =>
              download(`release-commands-${props.runId}.log`, log.text)
            }
          />
        </Box>
      )}
    </InfoCard>
  );
}
