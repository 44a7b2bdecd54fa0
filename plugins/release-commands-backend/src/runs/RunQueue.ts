import { LoggerService } from '@backstage/backend-plugin-api';
import { ReleaseCommandRun } from '@release-commands/backstage-plugin-release-commands-common';
import { RunsStore } from '../database/RunsStore';

export type RunQueueOptions = {
  runsStore: Pick<RunsStore, 'claimQueuedRuns'>;
  instanceId: string;
  maxConcurrentRuns: number;
  logger: LoggerService;
  /**
   * Called for each run this instance claimed, with the secrets it holds
   * for it (undefined when it holds none).
   */
  onClaimed(
    run: ReleaseCommandRun,
    env: Record<string, string> | undefined,
  ): void;
};

/**
 * This instance's queued runs: it holds their secrets (they live only in
 * memory) and claims them, oldest first, while the global cap on running
 * runs across all instances leaves room.
 */
export class RunQueue {
  private readonly secrets = new Map<
    string,
    { env: Record<string, string>; stored: boolean }
  >();
  private scheduling: Promise<void> | undefined;
  private scheduleAgain = false;
  private closed = false;

  constructor(private readonly options: RunQueueOptions) {}

  /**
   * Holds the secrets of a run of this instance until it is claimed: from
   * before the run is stored, since a claim may find it the moment it is.
   */
  hold(runId: string, env: Record<string, string>) {
    this.secrets.set(runId, { env, stored: false });
  }

  /** The run is in the store now, so its absence there means it ended. */
  stored(runId: string) {
    const held = this.secrets.get(runId);
    if (held) held.stored = true;
  }

  /** Forgets a run that will not be claimed (it ended without starting). */
  drop(runId: string) {
    this.secrets.delete(runId);
  }

  /** The stored runs whose secrets are held here. */
  waiting(): string[] {
    return [...this.secrets]
      .filter(([, held]) => held.stored)
      .map(([id]) => id);
  }

  /** The claim in flight, if any. */
  get claiming(): Promise<void> | undefined {
    return this.scheduling;
  }

  /** Claims queued runs while the cap leaves room; coalesces calls. */
  schedule() {
    if (this.scheduling) {
      this.scheduleAgain = true;
      return;
    }
    this.scheduling = (async () => {
      // Yield first, so `scheduling` is set before the `finally` below clears it.
      await Promise.resolve();
      try {
        do {
          this.scheduleAgain = false;
          if (this.closed || this.secrets.size === 0) break;
          const claimed = await this.options.runsStore.claimQueuedRuns({
            instanceId: this.options.instanceId,
            maxRunning: this.options.maxConcurrentRuns,
          });
          for (const run of claimed) {
            const held = this.secrets.get(run.id);
            this.secrets.delete(run.id);
            this.options.onClaimed(run, held?.env);
          }
        } while (this.scheduleAgain);
      } catch (error) {
        this.options.logger.error(
          `Could not start queued release command runs: ${error}`,
        );
      } finally {
        this.scheduling = undefined;
      }
    })();
  }

  /** Claims no more runs. */
  close() {
    this.closed = true;
  }

  /** Drops every secret held; returns the runs they belonged to. */
  release(): string[] {
    const runIds = [...this.secrets.keys()];
    this.secrets.clear();
    return runIds;
  }
}
