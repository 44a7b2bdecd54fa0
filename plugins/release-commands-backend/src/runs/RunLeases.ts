import {
  plural,
  ReleaseCommandRun,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ReleaseCommandExecutor } from '@release-commands/backstage-plugin-release-commands-node';
import { RunsStore } from '../database/RunsStore';
import { ActiveRuns } from './ActiveRuns';
import { isInstanceGone } from './instanceIdentity';
import { continueRunLog, RunLogContext } from './openRunLog';
import { RunQueue } from './RunQueue';
import { RunSettings } from './RunSettings';
import { closingLine, recordedVerdict, stepPrefix } from './verdicts';

export type RunLeasesOptions = RunLogContext & {
  runsStore: RunsStore;
  executor: ReleaseCommandExecutor;
  settings: RunSettings;
  instanceId: string;
  active: ActiveRuns;
  queue: RunQueue;
};

/**
 * The leases on this instance's runs: a heartbeat that keeps them alive (and
 * picks up cancels asked of another replica, and runs ended elsewhere), and
 * recovery of the runs whose owner stopped, with their leftover workloads.
 */
export class RunLeases {
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly options: RunLeasesOptions) {}

  /** Recovers what earlier instances left, then starts the periodic work. */
  async start(): Promise<void> {
    await this.recover();
    const { heartbeatIntervalMs, recoveryIntervalMs } = this.options.settings;
    this.every(heartbeatIntervalMs, () => this.heartbeat());
    this.every(recoveryIntervalMs, () => this.recover());
  }

  stop() {
    this.stopped = true;
    this.timers.forEach(clearInterval);
  }

  private every(ms: number, task: () => Promise<void>) {
    let running = false;
    const timer = setInterval(async () => {
      if (running || this.stopped) return;
      running = true;
      try {
        await task();
      } finally {
        running = false;
      }
    }, ms);
    timer.unref?.();
    this.timers.push(timer);
  }

  /** Keeps this instance's runs alive and picks up cancels and queued runs. */
  private async heartbeat(): Promise<void> {
    const { runsStore, active, queue, logger } = this.options;
    const runIds = [...active.ids(), ...queue.waiting()];
    try {
      const { cancelRequested, ended } = await runsStore.heartbeat(
        this.options.instanceId,
        runIds,
      );
      for (const runId of cancelRequested) {
        const run = await runsStore.getRun(runId);
        active.stop(runId, {
          kind: 'cancel',
          actor: run?.cancelRequestedBy ?? 'someone',
        });
      }
      for (const runId of ended) {
        queue.drop(runId);
        active.stop(runId, { kind: 'ended' });
      }
    } catch (error) {
      logger.warn(
        `Could not record the heartbeat of release command runs: ${error}`,
      );
    }
    queue.schedule();
  }

  /**
   * Ends the runs of instances that stopped, and removes containers of runs
   * that are no longer alive.
   */
  private async recover(): Promise<void> {
    const { runsStore, executor, logger, settings, active } = this.options;
    const staleBefore = new Date(Date.now() - settings.staleAfterMs);
    try {
      const gone = (await runsStore.activeRunOwners()).filter(
        owner => owner !== this.options.instanceId && isInstanceGone(owner),
      );
      for (const run of await runsStore.interruptStaleRuns(staleBefore, gone)) {
        logger.warn(
          `Release command run ${run.id} of ${run.entityRef} was interrupted: ${run.reason}`,
        );
        await this.closeInterruptedLog(run);
      }
    } catch (error) {
      logger.warn(`Could not recover release command runs: ${error}`);
    }
    try {
      const removed = await executor.removeLeftovers({
        isAlive: async runId =>
          active.has(runId) || runsStore.isRunAlive(runId, staleBefore),
      });
      if (removed.length > 0) {
        logger.info(
          `Removed ${plural(
            removed.length,
            'leftover release command container',
          )}: ${removed.join(', ')}`,
        );
      }
    } catch (error) {
      logger.debug(`Could not look for leftover containers: ${error}`);
    }
  }

  /** Writes the closing lines of a run that recovery interrupted. */
  private async closeInterruptedLog(run: ReleaseCommandRun) {
    const log = await continueRunLog(this.options, run.id);
    for (const step of run.steps) {
      if (step.status === 'interrupted' || step.status === 'skipped') {
        log.system(
          `${stepPrefix(step, run.steps.length)} ${step.status}`,
          step.position,
        );
      }
    }
    log.system(closingLine(recordedVerdict('interrupted', run.reason)));
    await log.close();
    this.options.events.notify(run.id);
  }
}
