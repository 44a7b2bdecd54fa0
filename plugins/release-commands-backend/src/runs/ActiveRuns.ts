import { performance } from 'node:perf_hooks';
import { StopReason } from './verdicts';

type ActiveRun = {
  controller: AbortController;
  done: Promise<void>;
  /** When its lease was last renewed, on this process's monotonic clock. */
  renewedAt: number;
};

/** The runs this instance is executing, each with what stops it. */
export class ActiveRuns {
  private readonly runs = new Map<string, ActiveRun>();

  /**
   * Starts `execute` for a run just claimed (the claim renewed its lease);
   * the run counts as active until it settles, then `onEnded` is called.
   */
  start(
    runId: string,
    execute: (signal: AbortSignal) => Promise<void>,
    onEnded: () => void,
  ) {
    const controller = new AbortController();
    const run: ActiveRun = {
      controller,
      done: Promise.resolve(),
      renewedAt: performance.now(),
    };
    this.runs.set(runId, run);
    run.done = execute(controller.signal).finally(() => {
      this.runs.delete(runId);
      onEnded();
    });
  }

  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  ids(): string[] {
    return [...this.runs.keys()];
  }

  get size(): number {
    return this.runs.size;
  }

  /** Records that the leases of these runs were renewed at `at`. */
  renewed(runIds: string[], at: number) {
    for (const runId of runIds) {
      const run = this.runs.get(runId);
      if (run) run.renewedAt = Math.max(run.renewedAt, at);
    }
  }

  /**
   * Stops the runs whose lease was last renewed more than `maxAgeMs` ago,
   * with the reason `reasonFor` gives for that age; returns them.
   */
  stopUnrenewed(
    maxAgeMs: number,
    reasonFor: (silentMs: number) => StopReason,
  ): string[] {
    const now = performance.now();
    const stopped: string[] = [];
    for (const [runId, run] of this.runs) {
      const age = now - run.renewedAt;
      if (age > maxAgeMs && !run.controller.signal.aborted) {
        run.controller.abort(reasonFor(age));
        stopped.push(runId);
      }
    }
    return stopped;
  }

  /** Stops a run's commands; its execution ends it with `reason`. */
  stop(runId: string, reason: StopReason) {
    this.runs.get(runId)?.controller.abort(reason);
  }

  stopAll(reason: StopReason) {
    for (const run of this.runs.values()) run.controller.abort(reason);
  }

  /** Resolves when every run active now has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.runs.values()].map(r => r.done));
  }
}
