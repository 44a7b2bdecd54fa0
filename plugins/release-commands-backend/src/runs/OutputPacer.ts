import { performance } from 'node:perf_hooks';

/** How long each window of the event loop is. */
const WINDOW_MS = 10;
/** How much of each window all runs' output may take together. */
const BUDGET_MS = 4;

/**
 * Keeps the command output of all runs of this process (decoding, masking,
 * capping) to a share of the event loop, which the plugin shares with the
 * catalog, auth and everything else the portal serves: once the output
 * handled in a window has taken its budget, the commands that print are
 * paused (their writes block) until the next window, and other requests are
 * served meanwhile. Under the budget, output goes through at once.
 */
export class OutputPacer {
  private windowStart = 0;
  private used = 0;
  private nextWindow: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly options: {
      windowMs?: number;
      budgetMs?: number;
      /** The clock the windows and the work are measured on, in ms. */
      now?: () => number;
    } = {},
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Handles a piece of output; returns a promise to wait for before reading
   * more when the window's budget is spent.
   */
  handle(work: () => void): Promise<void> | undefined {
    const windowMs = this.options.windowMs ?? WINDOW_MS;
    const start = this.now();
    if (start - this.windowStart >= windowMs) {
      this.windowStart = start;
      this.used = 0;
    }
    try {
      work();
    } finally {
      this.used += this.now() - start;
    }
    if (this.used < (this.options.budgetMs ?? BUDGET_MS)) return undefined;
    // One timer for all that wait: a timer runs after pending I/O.
    this.nextWindow ??= new Promise<void>(resolve => {
      const wait = Math.max(1, this.windowStart + windowMs - this.now());
      setTimeout(() => {
        this.nextWindow = undefined;
        resolve();
      }, wait);
    });
    return this.nextWindow;
  }
}
