import { InfoCard, Link, Table, TableColumn } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  ReleaseCommandRun,
  formatPeriod,
  isFinalRunStatus,
  releaseCommandsRunCreatePermission,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import PlayArrowIcon from '@material-ui/icons/PlayArrow';
import { useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { elapsed, formatTime } from '../../lib/format';
import { useRefreshWhile } from '../../lib/useRefreshWhile';
import { TimeoutWarningNote } from '../CommandDurations/TimeoutWarningNote';
import { useCommandDurations } from '../CommandDurations/useCommandDurations';
import { LoadError } from '../LoadError/LoadError';
import { RunStatusChip } from '../RunStatusChip/RunStatusChip';
import { StartRunDialog } from '../StartRunDialog/StartRunDialog';

export const RUNS_PAGE_SIZE = 10;
/** How often the table refreshes while a run on the page is still going. */
export const ACTIVE_RUNS_REFRESH_MS = 3000;

const TRIGGERS: Record<ReleaseCommandRun['trigger'], string> = {
  manual: 'by hand',
  pipeline: 'deploy pipeline',
  template: 'software template',
};

/** How far back the history goes, as the backend keeps it. */
function describeRetention(retentionSeconds: number | null): string {
  return retentionSeconds === null
    ? 'Runs are kept indefinitely.'
    : `Runs are kept for ${formatPeriod(
        retentionSeconds * 1000,
      )} after they end.`;
}

/**
 * The entity's runs, newest first, a page at a time (the API pages by
 * cursor, so the table keeps the cursors of the pages before), with the
 * button that starts one by hand.
 */
export function RunsTable(props: {
  entityRef: string;
  defaultImage?: string;
  runHref: (runId: string) => string;
  onOpenRun: (runId: string) => void;
}) {
  const { entityRef, runHref, onOpenRun } = props;
  const api = useApi(releaseCommandsApiRef);
  const canRun = usePermission({
    permission: releaseCommandsRunCreatePermission,
    resourceRef: entityRef,
  });
  // cursors[i] reads page i; page 0 has none.
  const [cursors, setCursors] = useState<Array<string | undefined>>([
    undefined,
  ]);
  const [page, setPage] = useState(0);
  const [starting, setStarting] = useState(false);
  const runs = useAsyncRetry(
    () =>
      api.listRuns(entityRef, {
        limit: RUNS_PAGE_SIZE,
        cursor: cursors[page],
      }),
    [api, entityRef, cursors, page],
  );

  useRefreshWhile(
    Boolean(runs.value?.runs.some(run => !isFinalRunStatus(run.status))),
    runs,
    ACTIVE_RUNS_REFRESH_MS,
  );
  // Read from more runs than a page holds, so the table warns of what the
  // durations card does; a failed read only leaves the warnings out.
  const warnings = useCommandDurations(
    entityRef,
    ACTIVE_RUNS_REFRESH_MS,
  ).durations.flatMap(({ warning }) => (warning ? [warning] : []));

  const nextCursor = runs.value?.nextCursor;
  const goOlder = () => {
    if (!nextCursor) return;
    setCursors(c => [...c.slice(0, page + 1), nextCursor]);
    setPage(p => p + 1);
  };

  const columns: TableColumn<ReleaseCommandRun>[] = [
    {
      title: 'Status',
      // A command nearing its timeout, under the run that last ran it.
      render: run => (
        <>
          <RunStatusChip status={run.status} />
          {warnings
            .filter(warning => warning.runId === run.id)
            .map(warning => (
              <TimeoutWarningNote key={warning.label} warning={warning} />
            ))}
        </>
      ),
    },
    {
      title: 'Started',
      render: run => (
        // The row opens the run too; the link is for keyboards and new tabs.
        <Link to={runHref(run.id)} onClick={e => e.stopPropagation()}>
          {formatTime(run.startedAt ?? run.createdAt)}
        </Link>
      ),
    },
    {
      title: 'Image',
      render: run => (
        <Typography variant="body2" component="code">
          {run.image}
        </Typography>
      ),
    },
    { title: 'Environment', field: 'environment' },
    {
      title: 'Triggered by',
      render: run => (
        <>
          <Typography variant="body2">{run.triggeredBy}</Typography>
          <Typography variant="caption" color="textSecondary">
            {TRIGGERS[run.trigger] ?? run.trigger}
          </Typography>
        </>
      ),
    },
    {
      title: 'Duration',
      render: run => elapsed(run.startedAt, run.finishedAt) || '–',
    },
    {
      // Why a run did not pass, so the history answers without opening it.
      title: 'Reason',
      render: run => <Typography variant="body2">{run.reason}</Typography>,
    },
  ];

  return (
    <InfoCard
      title="Runs"
      subheader="Each deploy runs the commands above on its new image; you can also run them by hand."
      action={
        canRun.allowed && (
          <Button
            color="primary"
            variant="outlined"
            startIcon={<PlayArrowIcon />}
            onClick={() => setStarting(true)}
          >
            Run release commands
          </Button>
        )
      }
      noPadding
    >
      {runs.error ? (
        <Box p={2}>
          <LoadError what="the runs" error={runs.error} onRetry={runs.retry} />
        </Box>
      ) : (
        <Table<ReleaseCommandRun>
          columns={columns}
          data={runs.value?.runs ?? []}
          isLoading={runs.loading && !runs.value}
          options={{
            toolbar: false,
            paging: false,
            search: false,
            sorting: false,
            padding: 'dense',
          }}
          onRowClick={(_event, run) => run && onOpenRun(run.id)}
          emptyContent={
            <Box p={3}>
              <Typography variant="body2" color="textSecondary">
                No runs yet. A deploy pipeline starts one through the API on
                each deploy{canRun.allowed ? ', or start one here' : ''}.
              </Typography>
            </Box>
          }
        />
      )}
      {runs.value && (
        <Box display="flex" alignItems="center" p={1} pl={2}>
          <Box flexGrow={1}>
            <Typography variant="body2" color="textSecondary">
              {describeRetention(runs.value.retentionSeconds)}
            </Typography>
          </Box>
          {(page > 0 || nextCursor) && (
            <>
              <Typography variant="body2" color="textSecondary">
                Page {page + 1}
              </Typography>
              <Button
                size="small"
                disabled={page === 0}
                onClick={() => setPage(p => p - 1)}
              >
                Newer
              </Button>
              <Button size="small" disabled={!nextCursor} onClick={goOlder}>
                Older
              </Button>
            </>
          )}
        </Box>
      )}
      {starting && (
        <StartRunDialog
          entityRef={entityRef}
          defaultImage={props.defaultImage}
          onClose={() => setStarting(false)}
          onStarted={run => {
            setStarting(false);
            onOpenRun(run.id);
          }}
        />
      )}
    </InfoCard>
  );
}
