import { LoggerService } from '@backstage/backend-plugin-api';
import { ReleaseCommandRun } from '@release-commands/backstage-plugin-release-commands-common';
import {
  formatBytes,
  plural,
} from '@release-commands/backstage-plugin-release-commands-common';
import { RunsStore } from '../database/RunsStore';
import { TooManyRunsError } from './TooManyRunsError';

export type RunQueueOptions = {
  runsStore: Pick<RunsStore, 'claimQueuedRuns'>;
  instanceId: string;
  maxConcurrentRuns: number;
  /** Most bytes of variables held at once for runs not started. */
  maxHeldSecretBytes: number;
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
    { env: Record<string, string>; bytes: number; stored: boolean }
  >();
  private heldBytes = 0;
  private scheduling: Promise<void> | undefined;
  private scheduleAgain = false;
  private closed = false;

  constructor(private readonly options: RunQueueOptions) {}

  /**
   * Holds the secrets of a run of this instance until it is claimed: from
   * before the run is stored, since a claim may find it the moment it is.
   */
  hold(runId: string, env: Record<string, string>) {
    const bytes = Object.entries(env).reduce(
      (sum, [name, value]) =>
        sum + Buffer.byteLength(name) + Buffer.byteLength(value),
      0,
    );
    const { maxHeldSecretBytes } = this.options;
    if (bytes > 0 && this.heldBytes + bytes > maxHeldSecretBytes) {
      throw new TooManyRunsError(
        `This backend instance holds ${formatBytes(
          this.heldBytes,
        )} of variables for ${plural(
          this.secrets.size,
          'run',
        )} not started yet; this run's ${formatBytes(
          bytes,
        )} would pass the limit of ${formatBytes(
          maxHeldSecretBytes,
        )} (releaseCommands.runs.maxHeldSecretBytes): try again once some have started`,
      );
    }
    this.secrets.set(runId, { env, bytes, stored: false });
    this.heldBytes += bytes;
  }

  /** Bytes of variables held now, and for how many runs. */
  get held(): { runs: number; bytes: number } {
    return { runs: this.secrets.size, bytes: this.heldBytes };
  }

  /** The run is in the store now, so its absence there means it ended. */
  stored(runId: string) {
    const held = this.secrets.get(runId);
    if (held) held.stored = true;
  }

  /** Forgets a run that will not be claimed (it ended without starting). */
  drop(runId: string) {
    this.take(runId);
  }

  /** Removes a run's secrets and returns them. */
  private take(runId: string): Record<string, string> | undefined {
    const held = this.secrets.get(runId);
    if (!held) return undefined;
    this.secrets.delete(runId);
    this.heldBytes -= held.bytes;
    return held.env;
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
            this.options.onClaimed(run, this.take(run.id));
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
    this.heldBytes = 0;
    return runIds;
  }
}
