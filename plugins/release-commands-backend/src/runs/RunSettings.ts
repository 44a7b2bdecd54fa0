import { Config } from '@backstage/config';
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from '@release-commands/backstage-plugin-release-commands-common';

/** How runs are scheduled, watched and logged. */
export type RunSettings = {
  defaultTimeoutSeconds: number;
  maxConcurrentRuns: number;
  logCapBytes: number;
  heartbeatIntervalMs: number;
  /** A run whose owner has been silent this long is interrupted. */
  staleAfterMs: number;
  recoveryIntervalMs: number;
  /** Between SIGTERM and SIGKILL, when a command is stopped. */
  stopGracePeriodMs: number;
};

/** Reads `releaseCommands.*` with the documented defaults. */
export function readRunSettings(config: Config): RunSettings {
  const runs = config.getOptionalConfig('releaseCommands.runs');
  const seconds = (key: string, fallback: number) => {
    const value = runs?.getOptionalNumber(key) ?? fallback;
    if (!(value > 0)) {
      throw new Error(
        `releaseCommands.runs.${key} must be a positive number of seconds, got ${value}`,
      );
    }
    return value * 1000;
  };
  const heartbeatIntervalMs = seconds('heartbeatIntervalSeconds', 5);
  const staleAfterMs = seconds('staleAfterSeconds', 30);
  if (staleAfterMs < 2 * heartbeatIntervalMs) {
    throw new Error(
      'releaseCommands.runs.staleAfterSeconds must be at least twice heartbeatIntervalSeconds, or live runs would be taken for dead ones',
    );
  }
  const maxConcurrentRuns = runs?.getOptionalNumber('maxConcurrent') ?? 4;
  if (!Number.isInteger(maxConcurrentRuns) || maxConcurrentRuns < 1) {
    throw new Error(
      `releaseCommands.runs.maxConcurrent must be a whole number of at least 1, got ${maxConcurrentRuns}`,
    );
  }
  const logCapBytes =
    runs?.getOptionalNumber('logCapBytes') ?? 10 * 1024 * 1024;
  if (!Number.isInteger(logCapBytes) || logCapBytes < 1024) {
    throw new Error(
      `releaseCommands.runs.logCapBytes must be a whole number of bytes, at least 1024, got ${logCapBytes}`,
    );
  }
  return {
    defaultTimeoutSeconds:
      config.getOptionalNumber('releaseCommands.defaultTimeoutSeconds') ??
      DEFAULT_COMMAND_TIMEOUT_SECONDS,
    maxConcurrentRuns,
    logCapBytes,
    heartbeatIntervalMs,
    staleAfterMs,
    recoveryIntervalMs: seconds('recoveryIntervalSeconds', 30),
    stopGracePeriodMs:
      (config.getOptionalNumber(
        'releaseCommands.docker.stopGracePeriodSeconds',
      ) ?? 10) * 1000,
  };
}
