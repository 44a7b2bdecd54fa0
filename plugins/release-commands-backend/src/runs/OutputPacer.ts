import { performance } from 'node:perf_hooks';

/** How long each window of the event loop is. */
const WINDOW_MS = 10;
/** How much of each window all runs' output may take together. */
const BUDGET_MS = 4;
/** How often the event loop's lateness is looked at while output flows. */
const CHECK_MS = 100;
/** By default, how late the loop may run, at worst between two checks. */
const MAX_LAG_MS = 20;
/** The shortest and the longest hold between two reads of a run's output. */
const MIN_HOLD_MS = 5;
const MAX_HOLD_MS = 200;
/** How long without output before the loop is no longer watched. */
const IDLE_MS = 1000;

/** Watches how late the event loop runs. */
export type LoopWatch = {
  /** How late the loop ran at worst since the last call, in ms. */
  lateMs(): number;
  stop(): void;
};

/**
 * The event loop's lateness, from a timer that notes how late each of its
 * turns comes. (Node's delay histogram drops the first interval after each
 * reset, and with it a stall that comes right after a read.)
 */
export function watchEventLoop(): LoopWatch {
  const everyMs = 10;
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - everyMs);
    last = now;
  }, everyMs);
  timer.unref?.();
  return {
    lateMs() {
      // Including a stall still under way, up to now.
      const late = Math.max(worst, performance.now() - last - everyMs);
      worst = 0;
      return Math.max(0, late);
    },
    stop: () => clearInterval(timer),
  };
}

export type OutputPacerOptions = {
  windowMs?: number;
  budgetMs?: number;
  /**
   * How late the loop may run, at worst between two checks, before output
   * is held; 0 never holds it.
   */
  maxLagMs?: number;
  /** The clock the windows and the work are measured on, in ms. */
  now?: () => number;
  /** How the event loop's lateness is watched while output flows. */
  watchLoop?: () => LoopWatch;
};

/**
 * Keeps the command output of all runs of this process from slowing the
 * catalog, auth and everything else the portal serves in it, in two ways.
 *
 * The work that output takes here (decoding, masking, capping) gets a share
 * of the event loop: once the output handled in a window has taken its
 * budget, the commands that print are paused (their writes block) until the
 * next window, and other requests are served meanwhile.
 *
 * And while the loop runs late anyway (on a busy machine, the engine's own
 * copying of the output competes for the same CPUs), each run's output is
 * read only once per hold, the hold growing while the loop stays late and
 * shrinking back to none once it is on time: what a command prints then
 * waits in the engine's buffers, and its writes block, rather than the
 * portal's requests. A command that prints little is never held.
 */
export class OutputPacer {
  private windowStart = 0;
  private used = 0;
  private nextWindow: Promise<void> | undefined;
  private readonly now: () => number;
  private watch: LoopWatch | undefined;
  private lastCheck = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private held: Promise<void> | undefined;
  /** The current hold between two reads of a run's output, in ms. */
  holdMs = 0;

  constructor(private readonly options: OutputPacerOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Handles a piece of output; returns a promise to wait for before reading
   * more when the window's budget is spent or output is being held.
   */
  handle(work: () => void): Promise<void> | undefined {
    const windowMs = this.options.windowMs ?? WINDOW_MS;
    const start = this.now();
    this.steer(start);
    if (start - this.windowStart >= windowMs) {
      this.windowStart = start;
      this.used = 0;
    }
    try {
      work();
    } finally {
      this.used += this.now() - start;
    }
    if (this.used >= (this.options.budgetMs ?? BUDGET_MS)) {
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
    if (this.holdMs > 0) {
      this.held ??= new Promise<void>(resolve => {
        setTimeout(() => {
          this.held = undefined;
          resolve();
        }, this.holdMs);
      });
      return this.held;
    }
    return undefined;
  }

  /** Stops watching the loop (it starts again with the next output). */
  stop() {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.watch?.stop();
    this.watch = undefined;
    this.holdMs = 0;
  }

  /** Lengthens or shortens the hold by how late the loop ran. */
  private steer(now: number) {
    const maxLagMs = this.options.maxLagMs ?? MAX_LAG_MS;
    if (maxLagMs <= 0) return;
    if (!this.watch) {
      this.watch = (this.options.watchLoop ?? watchEventLoop)();
      this.lastCheck = now;
    }
    if (!this.idleTimer) {
      this.idleTimer = setTimeout(() => this.stop(), IDLE_MS);
      this.idleTimer.unref?.();
    } else {
      this.idleTimer.refresh();
    }
    if (now - this.lastCheck < CHECK_MS) return;
    this.lastCheck = now;
    const late = this.watch.lateMs();
    if (late > maxLagMs) {
      this.holdMs = Math.min(
        MAX_HOLD_MS,
        Math.max(MIN_HOLD_MS, this.holdMs * 2),
      );
    } else if (late < maxLagMs / 2) {
      const shorter = this.holdMs * 0.75;
      this.holdMs = shorter < MIN_HOLD_MS ? 0 : shorter;
    }
  }
}
