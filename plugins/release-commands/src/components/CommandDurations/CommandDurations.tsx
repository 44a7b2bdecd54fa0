import { InfoCard, Progress } from '@backstage/core-components';
import {
  DURATION_SERIES_RUNS,
  formatDuration,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { formatTimeout } from '../../lib/format';
import { LoadError } from '../LoadError/LoadError';
import { ACTIVE_RUNS_REFRESH_MS } from '../RunsTable/RunsTable';
import { DurationChart } from './DurationChart';
import { TimeoutWarningNote } from './TimeoutWarningNote';
import { CommandDuration, useCommandDurations } from './useCommandDurations';

const useStyles = makeStyles(theme => ({
  list: { listStyle: 'none', margin: 0, padding: 0 },
  item: {
    display: 'flex',
    alignItems: 'center',
    flexWrap: 'wrap',
    padding: theme.spacing(1, 0),
    '& + &': { borderTop: `1px solid ${theme.palette.divider}` },
  },
}));

function CommandDurationItem(props: { duration: CommandDuration }) {
  const { series, warning } = props.duration;
  const classes = useStyles();
  const latest = series.points[series.points.length - 1];
  const percent = Math.round((latest.seconds / series.timeoutSeconds) * 100);
  return (
    <li className={classes.item}>
      <Box width={220} pr={2}>
        <Typography variant="body2">{series.label}</Typography>
      </Box>
      <DurationChart series={series} />
      <Box flex={1} minWidth={200} pl={2}>
        <Typography variant="body2" color="textSecondary">
          last {formatDuration(latest.seconds * 1000, 'spaced')} · {percent}% of{' '}
          {formatTimeout(series.timeoutSeconds)} timeout
        </Typography>
        {warning && <TimeoutWarningNote warning={warning} />}
      </Box>
    </li>
  );
}

/**
 * How long each command took over the entity's last runs, in the order of
 * the newest run's steps, and which ones near their timeout.
 */
export function CommandDurations(props: { entityRef: string }) {
  const classes = useStyles();
  const { runs, durations } = useCommandDurations(
    props.entityRef,
    ACTIVE_RUNS_REFRESH_MS,
  );

  let content;
  if (runs.error) {
    content = (
      <LoadError what="the durations" error={runs.error} onRetry={runs.retry} />
    );
  } else if (!runs.value) {
    content = <Progress />;
  } else if (durations.length === 0) {
    content = (
      <Typography variant="body2" color="textSecondary">
        No finished runs yet: once a run has finished its commands, each one's
        durations show here.
      </Typography>
    );
  } else {
    content = (
      <ul className={classes.list} aria-label="Command durations">
        {durations.map(duration => (
          <CommandDurationItem
            key={duration.series.label}
            duration={duration}
          />
        ))}
      </ul>
    );
  }

  return (
    <InfoCard
      title="Durations"
      subheader={`Each command's duration over the last ${DURATION_SERIES_RUNS} runs, with its timeout as a dashed line.`}
    >
      {content}
    </InfoCard>
  );
}
