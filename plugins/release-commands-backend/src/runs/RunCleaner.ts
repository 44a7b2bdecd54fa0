import {
  AuditorService,
  LoggerService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import { ForwardedError } from '@backstage/errors';
import {
  formatPeriod,
  plural,
} from '@release-commands/backstage-plugin-release-commands-common';
import { RunLogStore } from '../database/RunLogStore';
import { RunsStore } from '../database/RunsStore';

/** The id of the scheduler task that removes old runs. */
export const RUN_RETENTION_TASK_ID = 'run-retention';

export type RunCleanerOptions = {
  runsStore: Pick<RunsStore, 'listRunsEndedBefore' | 'deleteEndedRuns'>;
  logStore: Pick<RunLogStore, 'deleteRunLog'>;
  logger: LoggerService;
  auditor: AuditorService;
  /** How long a run is kept after it ends. */
  retentionMs: number;
  /** Runs (with their steps) deleted per transaction. Defaults to 100. */
  runsPerBatch?: number;
  /** Log chunks (up to 64 KiB each) deleted per statement. Defaults to 200. */
  logChunksPerBatch?: number;
};

/** What one pass removed. */
export type RunCleanup = {
  runs: number;
  logChunks: number;
  endedBefore: Date;
  /** False when the pass was stopped before every old run was removed. */
  complete: boolean;
};

/**
 * Removes runs, with their steps and logs, once they ended longer ago than
 * the retention period. Queued and running runs are never removed. The work
 * goes in small batches, so a large backlog never holds the tables for long,
 * and a pass that is stopped leaves the rest for the next one.
 */
export class RunCleaner {
  private readonly runsPerBatch: number;
  private readonly logChunksPerBatch: number;

  constructor(private readonly options: RunCleanerOptions) {
    this.runsPerBatch = options.runsPerBatch ?? 100;
    this.logChunksPerBatch = options.logChunksPerBatch ?? 200;
  }

  /** Runs a pass every hour, on one backend replica at a time. */
  async schedule(scheduler: SchedulerService): Promise<void> {
    this.options.logger.info(
      `Runs and their logs are removed ${formatPeriod(
        this.options.retentionMs,
      )} after they end (releaseCommands.runs.retention)`,
    );
    await scheduler.scheduleTask({
      id: RUN_RETENTION_TASK_ID,
      frequency: { hours: 1 },
      timeout: { minutes: 30 },
      // Out of the way of a start-up's recovery of interrupted runs.
      initialDelay: { minutes: 5 },
      scope: 'global',
      fn: async (signal: AbortSignal) => {
        await this.removeExpiredRuns(signal);
      },
    });
  }

  /** One pass: removes what has expired, until done or `signal` aborts. */
  async removeExpiredRuns(signal?: AbortSignal): Promise<RunCleanup> {
    const { runsStore, logStore, logger, retentionMs } = this.options;
    const endedBefore = new Date(Date.now() - retentionMs);
    const list = () =>
      runsStore.listRunsEndedBefore(endedBefore, this.runsPerBatch);
    let batch = await list();
    if (batch.length === 0) {
      logger.debug(`No runs ended before ${endedBefore.toISOString()}`);
      return { runs: 0, logChunks: 0, endedBefore, complete: true };
    }

    const meta = {
      endedBefore: endedBefore.toISOString(),
      retention: formatPeriod(retentionMs),
    };
    const event = await this.options.auditor.createEvent({
      eventId: 'run-retention',
      severityLevel: 'medium',
      meta,
    });
    let runs = 0;
    let logChunks = 0;
    let complete: boolean;
    try {
      for (;;) {
        const cleared: string[] = [];
        for (const runId of batch) {
          if (signal?.aborted) break;
          logChunks += await logStore.deleteRunLog(runId, {
            batchSize: this.logChunksPerBatch,
          });
          cleared.push(runId);
        }
        runs += await runsStore.deleteEndedRuns(cleared);
        // A short batch was the last; a full one may have more behind it.
        const last =
          cleared.length === batch.length && batch.length < this.runsPerBatch;
        if (last || cleared.length < batch.length || signal?.aborted) {
          complete = last;
          break;
        }
        batch = await list();
        if (batch.length === 0) {
          complete = true;
          break;
        }
      }
    } catch (error) {
      await event.fail({
        error: error as Error,
        meta: { removedRuns: runs, removedLogChunks: logChunks },
      });
      throw new ForwardedError(
        `Removing runs that ended before ${
          meta.endedBefore
        } failed after ${plural(runs, 'run')}`,
        error,
      );
    }

    await event.success({
      meta: { removedRuns: runs, removedLogChunks: logChunks, complete },
    });
    logger.info(
      `Removed ${plural(runs, 'run')} that ended more than ${
        meta.retention
      } ago (before ${meta.endedBefore}), with ${plural(
        logChunks,
        'log chunk',
      )}${complete ? '' : '; stopped early, the rest goes in the next pass'}`,
    );
    return { runs, logChunks, endedBefore, complete };
  }
}
