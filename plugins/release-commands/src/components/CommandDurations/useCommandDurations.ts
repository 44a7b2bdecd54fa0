import { useApi } from '@backstage/core-plugin-api';
import {
  DURATION_SERIES_RUNS,
  DurationSeries,
  TimeoutWarning,
  durationSeries,
  isFinalRunStatus,
  timeoutWarning,
} from '@release-commands/backstage-plugin-release-commands-common';
import { useMemo } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { useRefreshWhile } from '../../lib/useRefreshWhile';

/** A command's durations, and its warning when it nears its timeout. */
export type CommandDuration = {
  series: DurationSeries;
  warning: TimeoutWarning | null;
};

/**
 * Each command's durations over the entity's last runs, read again every
 * `refreshMs` while one of those runs is still going, as the runs table is.
 */
export function useCommandDurations(entityRef: string, refreshMs: number) {
  const api = useApi(releaseCommandsApiRef);
  const runs = useAsyncRetry(
    () => api.listRuns(entityRef, { limit: DURATION_SERIES_RUNS }),
    [api, entityRef],
  );
  useRefreshWhile(
    Boolean(runs.value?.runs.some(run => !isFinalRunStatus(run.status))),
    runs,
    refreshMs,
  );
  const durations = useMemo<CommandDuration[]>(
    () =>
      durationSeries(runs.value?.runs ?? []).map(series => ({
        series,
        warning: timeoutWarning(series),
      })),
    [runs.value],
  );
  return { runs, durations };
}
