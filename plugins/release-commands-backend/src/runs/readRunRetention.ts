import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import { formatPeriod } from '@release-commands/backstage-plugin-release-commands-common';

const KEY = 'releaseCommands.runs.retention';

/** How long ended runs are kept when the config says nothing. */
export const DEFAULT_RUN_RETENTION_MS = durationToMilliseconds({ days: 90 });

// A deploy pipeline reads a run's verdict and log right after it ends.
const MIN_RETENTION_MS = durationToMilliseconds({ hours: 1 });

/**
 * Reads `releaseCommands.runs.retention`: how long an ended run and its log
 * are kept, in milliseconds, or null when `false` keeps every run.
 */
export function readRunRetention(config: Config): number | null {
  if (!config.has(KEY)) return DEFAULT_RUN_RETENTION_MS;
  const value = config.get(KEY);
  if (value === false) return null;
  if (typeof value !== 'string' && (typeof value !== 'object' || !value)) {
    throw new Error(
      `${KEY} must be a duration such as 90d, P90D or { days: 90 }, or false to keep every run; got ${JSON.stringify(
        value,
      )}`,
    );
  }
  const ms = durationToMilliseconds(
    readDurationFromConfig(config, { key: KEY }),
  );
  if (!(ms >= MIN_RETENTION_MS)) {
    throw new Error(
      `${KEY} must be at least ${formatPeriod(
        MIN_RETENTION_MS,
      )}, so a deploy can read the run it just finished; got ${formatPeriod(
        ms,
      )}. Use false to keep every run`,
    );
  }
  return ms;
}
