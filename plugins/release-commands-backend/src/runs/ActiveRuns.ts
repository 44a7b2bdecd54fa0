import { StopReason } from './verdicts';

type ActiveRun = {
  controller: AbortController;
  done: Promise<void>;
};

/** The runs this instance is executing, each with what stops it. */
export class ActiveRuns {
  private readonly runs = new Map<string, ActiveRun>();

  /**
   * Starts `execute` for a run; the run counts as active until it settles,
   * then `onEnded` is called.
   */
  start(
    runId: string,
    execute: (signal: AbortSignal) => Promise<void>,
    onEnded: () => void,
  ) {
    const controller = new AbortController();
    const done = execute(controller.signal).finally(() => {
      this.runs.delete(runId);
      onEnded();
    });
    this.runs.set(runId, { controller, done });
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
