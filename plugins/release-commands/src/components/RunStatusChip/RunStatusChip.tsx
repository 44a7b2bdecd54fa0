import {
  RunStatus,
  StepStatus,
} from '@release-commands/backstage-plugin-release-commands-common';
import Chip from '@material-ui/core/Chip';
import { makeStyles } from '@material-ui/core/styles';

type Tone = 'success' | 'error' | 'warning' | 'info' | 'neutral';

const TONES: Record<RunStatus | StepStatus, { label: string; tone: Tone }> = {
  queued: { label: 'Queued', tone: 'neutral' },
  pending: { label: 'Pending', tone: 'neutral' },
  running: { label: 'Running', tone: 'info' },
  succeeded: { label: 'Succeeded', tone: 'success' },
  failed: { label: 'Failed', tone: 'error' },
  timed_out: { label: 'Timed out', tone: 'error' },
  cancelled: { label: 'Cancelled', tone: 'warning' },
  interrupted: { label: 'Interrupted', tone: 'warning' },
  skipped: { label: 'Skipped', tone: 'neutral' },
};

const useStyles = makeStyles(theme => {
  const filled = (color: string) => ({
    backgroundColor: color,
    color: theme.palette.getContrastText(color),
  });
  return {
    success: filled(theme.palette.success.main),
    error: filled(theme.palette.error.main),
    warning: filled(theme.palette.warning.main),
    info: filled(theme.palette.info.main),
    neutral: {},
  };
});

/** A run's or a step's status, coloured by what it means for the deploy. */
export function RunStatusChip(props: { status: RunStatus | StepStatus }) {
  const classes = useStyles();
  const { label, tone } = TONES[props.status] ?? {
    label: props.status,
    tone: 'neutral',
  };
  return <Chip size="small" label={label} className={classes[tone]} />;
}
