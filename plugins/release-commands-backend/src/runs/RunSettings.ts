import { Config } from '@backstage/config';
import {
  DEFAULT_COMMAND_TIMEOUT_SECONDS,
  timeoutSecondsSchema,
} from '@release-commands/backstage-plugin-release-commands-common';

/**
 * The longest delay a Node timer keeps: a longer one fires at once, which
 * would time out every step the moment it starts.
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** How runs are scheduled, watched and logged. */
export type RunSettings = {
  defaultTimeoutSeconds: number;
  maxConcurrentRuns: number;
  logCapBytes: number;
  /**
   * How late the event loop may run before command output is read more
   * slowly; 0 never holds it.
   */
  outputMaxLoopLagMs: number;
  heartbeatIntervalMs: number;
  /** A run whose owner has been silent this long is interrupted. */
  staleAfterMs: number;
  recoveryIntervalMs: number;
  /** Between SIGTERM and SIGKILL, when a command is stopped. */
  stopGracePeriodMs: number;
  /** The longest a run may take from its start, all commands together. */
  runDeadlineMs: number;
  /** Most runs queued at once for one entity, across replicas. */
  maxQueuedPerEntity: number;
  /** Most runs queued at once for one actor, across replicas. */
  maxQueuedPerActor: number;
  /** Most bytes of variables this instance holds for runs not started yet. */
  maxHeldSecretBytes: number;
  /**
   * Whether a run looks each step's executable up in the image before
   * step 1, as a dry run does, and fails there naming what is missing.
   */
  preflight: boolean;
};

/**
 * How long an owner may go without renewing its runs' leases before it stops
 * them itself: three quarters of the stale window, so that it stops them
 * before another replica takes them for dead.
 */
export function leaseLossAfterMs(settings: RunSettings): number {
  return Math.floor(settings.staleAfterMs * 0.75);
}

/** Reads `releaseCommands.*` with the documented defaults. */
export function readRunSettings(config: Config): RunSettings {
  const runs = config.getOptionalConfig('releaseCommands.runs');
  const seconds = (key: string, fallback: number) => {
    const value = runs?.getOptionalNumber(key) ?? fallback;
    if (!(value > 0 && value <= MAX_TIMER_SECONDS)) {
      throw new Error(
        `releaseCommands.runs.${key} must be a positive number of seconds, at most ${MAX_TIMER_SECONDS}, got ${value}`,
      );
    }
    return value * 1000;
  };
  const defaultTimeoutSeconds =
    config.getOptionalNumber('releaseCommands.defaultTimeoutSeconds') ??
    DEFAULT_COMMAND_TIMEOUT_SECONDS;
  const timeout = timeoutSecondsSchema.safeParse(defaultTimeoutSeconds);
  if (!timeout.success) {
    throw new Error(
      `releaseCommands.defaultTimeoutSeconds ${timeout.error.issues[0].message}, got ${defaultTimeoutSeconds}`,
    );
  }
  const stopGracePeriodSeconds =
    config.getOptionalNumber('releaseCommands.docker.stopGracePeriodSeconds') ??
    10;
  if (!(stopGracePeriodSeconds >= 0 && stopGracePeriodSeconds <= 3600)) {
    throw new Error(
      `releaseCommands.docker.stopGracePeriodSeconds must be from 0 to 3600 seconds, got ${stopGracePeriodSeconds}`,
    );
  }
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
  const wholeNumber = (key: string, fallback: number, least: number) => {
    const value = runs?.getOptionalNumber(key) ?? fallback;
    if (!Number.isInteger(value) || value < least) {
      throw new Error(
        `releaseCommands.runs.${key} must be a whole number of at least ${least}, got ${value}`,
      );
    }
    return value;
  };
  const logCapBytes =
    runs?.getOptionalNumber('logCapBytes') ?? 10 * 1024 * 1024;
  if (!Number.isInteger(logCapBytes) || logCapBytes < 1024) {
    throw new Error(
      `releaseCommands.runs.logCapBytes must be a whole number of bytes, at least 1024, got ${logCapBytes}`,
    );
  }
  return {
    defaultTimeoutSeconds,
    maxConcurrentRuns,
    logCapBytes,
    outputMaxLoopLagMs: wholeNumber('outputMaxLoopLagMs', 20, 0),
    heartbeatIntervalMs,
    staleAfterMs,
    recoveryIntervalMs: seconds('recoveryIntervalSeconds', 30),
    stopGracePeriodMs: stopGracePeriodSeconds * 1000,
    runDeadlineMs: seconds('maxRunSeconds', 4 * 60 * 60),
    maxQueuedPerEntity: wholeNumber('maxQueuedPerEntity', 10, 1),
    maxQueuedPerActor: wholeNumber('maxQueuedPerActor', 50, 1),
    maxHeldSecretBytes: wholeNumber(
      'maxHeldSecretBytes',
      32 * 1024 * 1024,
      256 * 1024,
    ),
    preflight: runs?.getOptionalBoolean('preflight') ?? false,
  };
}
