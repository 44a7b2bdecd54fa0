/**
 * Why a run should stop before its end: `--timeout` passing, SIGTERM from a
 * CI runner, or Ctrl-C. The first asks for the run to be cancelled
 * (`stopped` resolves with the cause); a second signal gives up waiting at
 * once (`leave` aborts), for a person who will not wait for the cancel.
 */
export class StopRequests {
  /** Resolves with the cause, e.g. `--timeout of 900s reached`. */
  readonly stopped: Promise<string>;
  /** Aborted by a second signal: stop following and exit now. */
  readonly leave: AbortSignal;
  /**
   * Set once there is a run to cancel: on a terminal, Ctrl-C asks this
   * before cancelling; `undefined` means cancel without asking.
   */
  ask: (() => Promise<boolean>) | undefined;

  private cause: string | undefined;
  private asking = false;
  private readonly resolveStopped: (cause: string) => void;
  private readonly leaveController = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    void this.signalled(signal);
  };

  constructor(options: { timeoutMs?: number }) {
    let resolve!: (cause: string) => void;
    this.stopped = new Promise(r => (resolve = r));
    this.resolveStopped = resolve;
    this.leave = this.leaveController.signal;
    if (options.timeoutMs !== undefined) {
      this.timer = setTimeout(
        () => this.stop(`--timeout of ${options.timeoutMs! / 1000}s reached`),
        options.timeoutMs,
      );
    }
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** The cause of the stop, once there is one. */
  get reason(): string | undefined {
    return this.cause;
  }

  /** A second signal, or Ctrl-C at the question: leave without waiting. */
  giveUp(signal: NodeJS.Signals) {
    this.leaveController.abort(new Error(`${signal} received again`));
  }

  dispose() {
    clearTimeout(this.timer);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  private stop(cause: string) {
    if (this.cause) return;
    this.cause = cause;
    this.resolveStopped(cause);
  }

  private async signalled(signal: NodeJS.Signals) {
    if (this.cause || this.asking) {
      this.giveUp(signal);
      return;
    }
    if (signal !== 'SIGINT' || !this.ask) {
      this.stop(`${signal} received`);
      return;
    }
    this.asking = true;
    try {
      if (await this.ask()) this.stop('Ctrl-C');
    } finally {
      this.asking = false;
    }
  }
}
