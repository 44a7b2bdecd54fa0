import { performance } from 'node:perf_hooks';
import { PortalRequests, portalRequests } from './PortalRequests';

/** How long each window of the event loop is. */
const WINDOW_MS = 10;
/** How much of each window all runs' output may take together. */
const BUDGET_MS = 4;
/** How often the event loop's lateness is looked at while output flows. */
const CHECK_MS = 100;
/** By default, how late the loop may run between two checks (see `LoopWatch`). */
const MAX_LAG_MS = 20;
/** The slowest that output is read while the loop runs late, in bytes/ms. */
const MIN_RATE = 64;
/** How the rate changes while the loop runs late, and while it is on time. */
const SLOWER = 0.5;
const FASTER = 1.25;
/** How long without output before the loop is no longer watched. */
const IDLE_MS = 1000;
/**
 * How long after the portal's last request (other than a log read) output
 * may still be held: the other requests of the same page follow it.
 */
const QUIET_MS = 1000;

/** Watches how late the event loop runs. */
export type LoopWatch = {
  /**
   * How late the loop ran since the last call, in ms: at the second worst
   * of its turns, or half the worst when that is more. One stall up to
   * twice the allowed lag (a garbage collection, one large write) is borne;
   * two in a row, or a longer one, are not.
   */
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
  let second = 0;
  const note = (late: number) => {
    if (late > worst) {
      second = worst;
      worst = late;
    } else if (late > second) {
      second = late;
    }
  };
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    note(now - last - everyMs);
    last = now;
  }, everyMs);
  timer.unref?.();
  return {
    lateMs() {
      // Including a stall still under way, up to now.
      note(performance.now() - last - everyMs);
      const late = Math.max(second, worst / 2);
      worst = 0;
      second = 0;
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
  /** When the portal last took a request; all of this process's by default. */
  requests?: PortalRequests;
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
 * copying of the output competes for the same CPUs), all runs' output
 * together is read at a limited rate: halved from what came while the loop
 * stays late, raised by a quarter at each check while it is on time, and
 * lifted once it no longer binds. What a command prints beyond it waits in
 * the engine's buffers, and its writes block, rather than the portal's
 * requests. While the loop is on time, output is never held; nor while the
 * portal has taken no request for a second (reads of a run's log aside,
 * whose readers wait for the output itself): then nobody waits on the loop,
 * and the commands print at the engine's speed. The rate is still learnt
 * meanwhile, from how late the loop runs, so the next request is shielded
 * from its start.
 */
export class OutputPacer {
  private windowStart = 0;
  private used = 0;
  private paused: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly requests: PortalRequests;
  private watch: LoopWatch | undefined;
  private lastCheck = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastOutput = 0;
  /** Bytes of output handled since the last check. */
  private bytesSinceCheck = 0;
  /** When output may be read next, at the limited rate. */
  private nextRead = 0;
  /**
   * How fast all runs' output is read while the loop runs late, in bytes
   * per ms; undefined while it is read as fast as it comes.
   */
  rate: number | undefined;

  constructor(private readonly options: OutputPacerOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    // From the start: a request just before the first output counts.
    this.requests = options.requests ?? portalRequests();
  }

  /**
   * Handles a piece of output of `bytes`; returns a promise to wait for
   * before reading more when the window's budget is spent or output is read
   * at a limited rate.
   */
  handle(work: () => void, bytes: number): Promise<void> | undefined {
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
      this.lastOutput = this.now();
      this.used += this.lastOutput - start;
      this.bytesSinceCheck += bytes;
    }
    const end = this.lastOutput;
    if (this.used >= (this.options.budgetMs ?? BUDGET_MS)) {
      return this.pause(this.windowStart + windowMs - end);
    }
    // Learnt all along, the rate holds output only while someone may wait
    // on the loop: from the first request after a quiet spell, at once.
    if (this.rate !== undefined && this.requests.sinceLastMs() < QUIET_MS) {
      this.nextRead = Math.max(this.nextRead, end) + bytes / this.rate;
      if (this.nextRead - end >= 1) return this.pause(this.nextRead - end);
    }
    return undefined;
  }

  /**
   * One pause for every run that waits, with one timer (a timer runs after
   * pending I/O): a run that asks while one is under way waits for it.
   */
  private pause(ms: number): Promise<void> {
    this.paused ??= new Promise<void>(resolve => {
      setTimeout(() => {
        this.paused = undefined;
        resolve();
      }, Math.max(1, ms));
    });
    return this.paused;
  }

  /** Stops watching the loop (it starts again with the next output). */
  stop() {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.watch?.stop();
    this.watch = undefined;
    this.rate = undefined;
    this.bytesSinceCheck = 0;
  }

  /** Stops watching once no output came for `IDLE_MS`. */
  private stopWhenIdle(ms: number) {
    this.idleTimer = setTimeout(() => {
      const idle = this.now() - this.lastOutput;
      if (idle >= IDLE_MS) this.stop();
      else this.stopWhenIdle(IDLE_MS - idle);
    }, ms);
    this.idleTimer.unref?.();
  }

  /** Slows or speeds the reading of output by how late the loop ran. */
  private steer(now: number) {
    const maxLagMs = this.options.maxLagMs ?? MAX_LAG_MS;
    if (maxLagMs <= 0) return;
    if (!this.watch) {
      this.watch = (this.options.watchLoop ?? watchEventLoop)();
      this.lastCheck = now;
    }
    // Not a timer moved per chunk: the idle timer looks at `lastOutput`.
    if (!this.idleTimer) this.stopWhenIdle(IDLE_MS);
    const elapsed = now - this.lastCheck;
    if (elapsed < CHECK_MS) return;
    this.lastCheck = now;
    const came = this.bytesSinceCheck / elapsed;
    this.bytesSinceCheck = 0;
    const late = this.watch.lateMs();
    if (late > maxLagMs) {
      this.rate = Math.max(
        MIN_RATE,
        Math.min(this.rate ?? Infinity, came) * SLOWER,
      );
    } else if (late < maxLagMs / 2 && this.rate !== undefined) {
      const faster = this.rate * FASTER;
      // Far above what comes, the limit no longer holds anything back.
      this.rate = faster > came * 4 ? undefined : faster;
    }
  }
}
