import { InfoCard, Link, Progress } from '@backstage/core-components';
import { identityApiRef, useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  describeError,
  isFinalRunStatus,
  ReleaseCommandRun,
  releaseCommandsRunCancelPermission,
  releaseCommandsRunCreatePermission,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import ArrowBackIcon from '@material-ui/icons/ArrowBack';
import StopIcon from '@material-ui/icons/Stop';
import Alert from '@material-ui/lab/Alert';
import { ReactNode, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { responseStatus } from '../../lib/errors';
import { elapsed, formatTime } from '../../lib/format';
import { useRefreshWhile } from '../../lib/useRefreshWhile';
import { ConfirmDialog } from '../ConfirmDialog/ConfirmDialog';
import { IconLink } from '../IconLink/IconLink';
import { LoadError } from '../LoadError/LoadError';
import { RunLog } from '../RunLog/RunLog';
import { RunStatusChip } from '../RunStatusChip/RunStatusChip';
import { RunSteps } from './RunSteps';

/** How often the steps refresh while the run goes on. */
export const RUN_REFRESH_MS = 2000;

const useStyles = makeStyles(theme => ({
  facts: {
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr',
    columnGap: theme.spacing(3),
    rowGap: theme.spacing(0.5),
    margin: theme.spacing(0, 0, 2, 0),
    '& dt': { color: theme.palette.text.secondary },
    '& dd': { margin: 0 },
  },
}));

/**
 * One run: what it ran on, each step's result and the live log. Shown in
 * the tab for `?run=<id>`, the link the scaffolder action and the CLI print.
 */
export function RunPage(props: {
  runId: string;
  allRunsHref: string;
  /** Where the history of the commands is shown, if the page has it. */
  historyHref?: string;
}) {
  const { runId } = props;
  const api = useApi(releaseCommandsApiRef);
  const loaded = useAsyncRetry(() => api.getRun(runId), [api, runId]);
  const run = loaded.value;
  const active = run !== undefined && !isFinalRunStatus(run.status);

  const { retry } = loaded;
  useRefreshWhile(active, loaded, RUN_REFRESH_MS);

  const back = (
    <Box mb={2}>
      <IconLink
        to={props.allRunsHref}
        icon={<ArrowBackIcon fontSize="small" />}
      >
        All release commands and runs
      </IconLink>
    </Box>
  );

  if (!run) {
    let body: ReactNode = <Progress />;
    if (loaded.error) {
      body =
        responseStatus(loaded.error) === 404 ? (
          <Alert severity="warning">
            There is no run {runId}. It may belong to another Backstage
            instance, or the link is mistyped.
          </Alert>
        ) : (
          <LoadError what="the run" error={loaded.error} onRetry={retry} />
        );
    }
    return (
      <>
        {back}
        <InfoCard title="Run">{body}</InfoCard>
      </>
    );
  }

  return (
    <>
      {back}
      <Grid container spacing={3}>
        <Grid item xs={12}>
          <RunSummary
            run={run}
            historyHref={props.historyHref}
            onChanged={retry}
          />
        </Grid>
        <Grid item xs={12}>
          <RunLog runId={runId} onEnd={retry} />
        </Grid>
      </Grid>
    </>
  );
}

function RunSummary(props: {
  run: ReleaseCommandRun;
  historyHref?: string;
  onChanged: () => void;
}) {
  const { run, onChanged } = props;
  const classes = useStyles();
  const api = useApi(releaseCommandsApiRef);
  const identityApi = useApi(identityApiRef);
  const cancelsAnyRun = usePermission({
    permission: releaseCommandsRunCancelPermission,
    resourceRef: run.entityRef,
  });
  // Whoever started a run cancels it with the right that started it.
  const startsRuns = usePermission({
    permission: releaseCommandsRunCreatePermission,
    resourceRef: run.entityRef,
  });
  const { value: me } = useAsync(
    async () => (await identityApi.getBackstageIdentity()).userEntityRef,
    [identityApi],
  );
  const canCancel =
    cancelsAnyRun.allowed || (startsRuns.allowed && me === run.triggeredBy);
  const [confirming, setConfirming] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string>();
  const active = !isFinalRunStatus(run.status);

  const handleCancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await api.cancelRun(run.id);
    } catch (error) {
      // 409: it ended meanwhile; the refresh shows how.
      if (responseStatus(error) !== 409) setCancelError(describeError(error));
    } finally {
      setCancelling(false);
      setConfirming(false);
      onChanged();
    }
  };

  return (
    <InfoCard
      title={
        <Box display="flex" alignItems="center" gridGap={12}>
          <span>Run on {run.image}</span>
          <RunStatusChip status={run.status} />
        </Box>
      }
      action={
        canCancel &&
        active && (
          <Button
            variant="outlined"
            color="secondary"
            startIcon={<StopIcon />}
            onClick={() => setConfirming(true)}
            disabled={Boolean(run.cancelRequestedAt) || cancelling}
          >
            {run.cancelRequestedAt ? 'Cancelling…' : 'Cancel run'}
          </Button>
        )
      }
    >
      {run.reason && (
        <Box mb={2}>
          <Alert severity={run.status === 'succeeded' ? 'info' : 'error'}>
            {run.reason}
          </Alert>
        </Box>
      )}
      {active && run.cancelRequestedAt && (
        <Box mb={2}>
          <Alert severity="info">
            {run.cancelRequestedBy ?? 'Someone'} asked to cancel this run; the
            running command is being stopped.
          </Alert>
        </Box>
      )}
      {cancelError && (
        <Box mb={2}>
          <Alert severity="error">
            Could not cancel the run: {cancelError}
          </Alert>
        </Box>
      )}
      <dl className={classes.facts}>
        <dt>Entity</dt>
        <dd>{run.entityRef}</dd>
        {run.imageId && (
          <>
            <dt>Image id</dt>
            <dd>
              <code>{run.imageId}</code>
              {run.imageDigest && (
                <>
                  {' '}
                  (<code>{run.imageDigest}</code>)
                </>
              )}
              : {run.image} as resolved before the first step; every step ran it
            </dd>
          </>
        )}
        <dt>Environment</dt>
        <dd>{run.environment}</dd>
        {run.commandsRevision !== null && (
          <>
            <dt>Commands</dt>
            <dd>
              {props.historyHref ? (
                <Link to={props.historyHref}>
                  revision {run.commandsRevision}
                </Link>
              ) : (
                `revision ${run.commandsRevision}`
              )}
            </dd>
          </>
        )}
        <dt>Triggered by</dt>
        <dd>
          {run.triggeredBy} ({run.trigger})
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(run.createdAt)}</dd>
        {run.startedAt && (
          <>
            <dt>Duration</dt>
            <dd>
              {elapsed(run.startedAt, run.finishedAt)}
              {active ? ' so far' : ''}
            </dd>
          </>
        )}
        {run.envKeys.length > 0 && (
          <>
            <dt>Variables</dt>
            <dd>
              <code>{run.envKeys.join(', ')}</code> (values masked, not kept)
            </dd>
          </>
        )}
      </dl>
      <Typography variant="h6" component="h3" gutterBottom>
        Steps
      </Typography>
      <RunSteps steps={run.steps} />
      <ConfirmDialog
        open={confirming}
        title="Cancel this run?"
        confirmLabel="Cancel run"
        cancelLabel="Keep running"
        busy={cancelling}
        onConfirm={handleCancel}
        onClose={() => setConfirming(false)}
      >
        The running command gets SIGTERM, then SIGKILL after a grace period; the
        commands after it do not run. What it already changed (a half-applied
        migration) stays applied.
      </ConfirmDialog>
    </InfoCard>
  );
}
