import {
  plural,
  ReleaseCommandRun,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ReleaseCommandExecutor } from '@release-commands/backstage-plugin-release-commands-node';
import { performance } from 'node:perf_hooks';
import { RunsStore } from '../database/RunsStore';
import { ActiveRuns } from './ActiveRuns';
import { isInstanceGone } from './instanceIdentity';
import { continueRunLog, RunLogContext } from './openRunLog';
import { RunQueue } from './RunQueue';
import { leaseLossAfterMs, RunSettings } from './RunSettings';
import { closingLine, recordedVerdict, stepPrefix } from './verdicts';

export type RunLeasesOptions = RunLogContext & {
  runsStore: RunsStore;
  executor: ReleaseCommandExecutor;
  settings: RunSettings;
  instanceId: string;
  active: ActiveRuns;
  queue: RunQueue;
  /** Told of each run recovery ended. */
  runEnded(runId: string): void;
};

/**
 * The leases on this instance's runs: a heartbeat that keeps them alive on
 * the database's clock (and picks up cancels asked of another replica, and
 * runs ended elsewhere), a watchdog that stops this instance's runs when it
 * could not renew them for most of the stale window, and recovery of the
 * runs whose owner stopped, with their leftover workloads and locks.
 */
export class RunLeases {
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private lastHeartbeatError: string | undefined;

  constructor(private readonly options: RunLeasesOptions) {}

  /** Recovers what earlier instances left, then starts the periodic work. */
  async start(): Promise<void> {
    await this.recover();
    const { heartbeatIntervalMs, recoveryIntervalMs } = this.options.settings;
    this.every(heartbeatIntervalMs, () => this.heartbeat());
    // Apart from the heartbeat, which may hang on an unreachable database.
    this.every(heartbeatIntervalMs, async () => this.stopUnrenewedRuns());
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
    const sentAt = performance.now();
    try {
      const { cancelRequested, ended } = await runsStore.heartbeat(
        this.options.instanceId,
        runIds,
      );
      this.lastHeartbeatError = undefined;
      active.renewed(
        runIds.filter(id => !ended.includes(id)),
        sentAt,
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
      if (!this.lastHeartbeatError) {
        logger.warn(
          `Could not record the heartbeat of release command runs: ${error}`,
        );
      }
      // Without the statement that knex puts before the driver's message.
      this.lastHeartbeatError = String(error).replace(
        /^(\w*Error: )?(select|insert|update|delete|with)\b[\s\S]* - /i,
        '$1',
      );
    }
    queue.schedule();
  }

  /**
   * Stops this instance's runs whose lease it could not renew for most of
   * the stale window: soon another instance may take them for dead, and
   * their commands must not run on unwatched.
   */
  private stopUnrenewedRuns() {
    const { active, logger, settings } = this.options;
    const stopped = active.stopUnrenewed(
      leaseLossAfterMs(settings),
      silentMs => ({
        kind: 'lease',
        silentMs,
        lastError: this.lastHeartbeatError,
      }),
    );
    for (const runId of stopped) {
      logger.error(
        `Stopping release command run ${runId}: its lease could not be renewed for ${
          leaseLossAfterMs(settings) / 1000
        } s${this.lastHeartbeatError ? ` (${this.lastHeartbeatError})` : ''}`,
      );
    }
  }

  /**
   * Ends the runs of instances that stopped, and removes containers of runs
   * that are no longer alive.
   */
  private async recover(): Promise<void> {
    const { runsStore, executor, logger, settings, active, instanceId } =
      this.options;
    const { staleAfterMs } = settings;
    try {
      const gone = (await runsStore.activeRunOwners()).filter(
        owner => owner !== instanceId && isInstanceGone(owner),
      );
      const interrupted = await runsStore.interruptStaleRuns({
        staleAfterMs,
        goneOwners: gone,
        // Never this instance's own: it ends them itself, with the true reason.
        exceptOwner: instanceId,
        // As the containers' own expiry label reckons it.
        workloadGraceMs: settings.stopGracePeriodMs + staleAfterMs,
      });
      for (const run of interrupted) {
        logger.warn(
          `Release command run ${run.id} of ${run.entityRef} was interrupted: ${run.reason}`,
        );
        await this.closeInterruptedLog(run);
      }
    } catch (error) {
      logger.warn(`Could not recover release command runs: ${error}`);
    }
    let leftoversRemoved = false;
    try {
      const removed = await executor.removeLeftovers({
        isAlive: async runId =>
          active.has(runId) || runsStore.isRunAlive(runId, staleAfterMs),
      });
      leftoversRemoved = true;
      if (removed.length > 0) {
        logger.info(
          `Removed ${plural(
            removed.length,
            'leftover release command workload',
          )}: ${removed.join(', ')}`,
        );
      }
    } catch (error) {
      logger.debug(`Could not look for leftover workloads: ${error}`);
    }
    try {
      // Ended runs' workloads are gone once a pass removed every leftover;
      // else their locks lapse when the workloads would have timed out.
      const released = await runsStore.releaseEndedLocks({
        expiredOnly: !leftoversRemoved,
      });
      if (released.length > 0) {
        logger.info(
          `Released the locks of ended release command runs whose workloads are gone: ${released.join(
            ', ',
          )}`,
        );
      }
    } catch (error) {
      logger.warn(`Could not release the locks of ended runs: ${error}`);
    }
  }

  /**
   * Writes the closing lines of a run that recovery interrupted: after the
   * lines its owner wrote, which can be no more now that the run is ended
   * (the owner's writes need it active).
   */
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
    this.options.runEnded(run.id);
  }
}
