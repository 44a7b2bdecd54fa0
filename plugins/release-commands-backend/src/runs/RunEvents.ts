import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';

/**
 * One write of a run's log as its writer in this process stored it: every
 * chunk with a sequence number in `(after, through]` that the log will ever
 * have, but for those cut before they were written.
 */
export type LogWrite = {
  after: number;
  through: number;
  chunks: RunLogChunk[];
};

/** What woke a follower. */
export type Wake = 'write' | 'change' | 'timeout';

/** Runs whose log generation is remembered after their writer closed. */
const MAX_GENERATIONS = 1000;

/** By default, most bytes of writes kept for a follower that lags. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * A follower's view of what this process writes of a run's log: the writes
 * since it started following, in order, unless it fell so far behind that
 * they were dropped (it then reads the store again).
 */
export class LogFeed {
  private queue: LogWrite[] = [];
  private queuedBytes = 0;
  private overflowed = false;
  /** Something other than a write happened since the last wait. */
  private changed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly events: RunEvents,
    readonly runId: string,
    private readonly maxQueuedBytes: number,
  ) {}

  /** Whether a writer of the run's log is open in this process. */
  get live(): boolean {
    return this.events.isLive(this.runId);
  }

  /**
   * The writes queued since the last call, or `overflow` when some were
   * dropped: what was stored meanwhile is then to be read from the store.
   */
  take(): LogWrite[] | 'overflow' {
    const taken = this.overflowed ? 'overflow' : this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    this.overflowed = false;
    return taken;
  }

  /**
   * Resolves at the next write (`write`) or other change of the run
   * (`change`), after `timeoutMs` (`timeout`), or when `signal` aborts; at
   * once when either came since the last wait.
   */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<Wake> {
    const pending = this.pendingWake();
    if (pending || signal?.aborted) {
      return Promise.resolve(pending ?? 'timeout');
    }
    return new Promise(resolve => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve(this.pendingWake() ?? 'timeout');
      };
      timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  private pendingWake(): Wake | undefined {
    if (this.changed) {
      this.changed = false;
      return 'change';
    }
    return this.queue.length > 0 || this.overflowed ? 'write' : undefined;
  }

  /** Stops following. */
  close() {
    this.events.unfollow(this);
    this.queue = [];
    this.wake?.();
  }

  /** @internal */
  push(write: LogWrite, bytes: number) {
    if (!this.overflowed) {
      this.queue.push(write);
      this.queuedBytes += bytes;
      if (this.queuedBytes > this.maxQueuedBytes) {
        this.overflowed = true;
        this.queue = [];
        this.queuedBytes = 0;
      }
    }
    this.wake?.();
  }

  /** @internal */
  notify() {
    this.changed = true;
    this.wake?.();
  }
}

/**
 * What happens to runs in this process, for the followers of their logs:
 * each write of a log is handed to every follower of the run at once (one
 * write, any number of followers, no reading back), and other changes (the
 * run ended) wake them. Runs written by another replica are followed by
 * polling the store.
 */
export class RunEvents {
  private readonly feeds = new Map<string, Set<LogFeed>>();
  private readonly writers = new Map<string, number>();
  /**
   * Per run written in this process (the most recent ones), changed whenever
   * what it stored may have been rewritten.
   */
  private readonly generations = new Map<string, number>();
  private generation = 0;
  private readonly maxQueuedBytes: number;

  /**
   * `maxQueuedBytes`: how far (in characters of log text) a follower may
   * fall behind the writes before it is left to read the store instead.
   */
  constructor(options: { maxQueuedBytes?: number } = {}) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  }

  /** Something about the run changed: wakes its followers. */
  notify(runId: string) {
    for (const feed of this.feeds.get(runId) ?? []) feed.notify();
  }

  /** A write of the run's log was stored: every follower gets it. */
  publish(runId: string, write: LogWrite) {
    const feeds = this.feeds.get(runId);
    if (feeds) {
      let bytes = 0;
      for (const chunk of write.chunks) bytes += chunk.text.length;
      for (const feed of feeds) feed.push(write, bytes);
    }
  }

  /** Starts following a run's log; close the feed when done. */
  follow(runId: string): LogFeed {
    const feed = new LogFeed(this, runId, this.maxQueuedBytes);
    let feeds = this.feeds.get(runId);
    if (!feeds) {
      feeds = new Set();
      this.feeds.set(runId, feeds);
    }
    feeds.add(feed);
    return feed;
  }

  /** @internal */
  unfollow(feed: LogFeed) {
    const feeds = this.feeds.get(feed.runId);
    feeds?.delete(feed);
    if (feeds?.size === 0) this.feeds.delete(feed.runId);
  }

  /** A writer of the run's log opened in this process; returns its end. */
  openWriter(runId: string): () => void {
    this.writers.set(runId, (this.writers.get(runId) ?? 0) + 1);
    this.bump(runId);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      const left = (this.writers.get(runId) ?? 1) - 1;
      if (left > 0) this.writers.set(runId, left);
      else this.writers.delete(runId);
      // What it stored stays as it was: the generation with it.
      this.forgetOldGenerations();
      this.notify(runId);
    };
  }

  /** The run's writer here deleted or replaced chunks it had stored. */
  rewrote(runId: string) {
    if (this.generations.has(runId)) this.bump(runId);
  }

  /**
   * Another instance writes the run's log from now on (this one was fenced
   * off): what it stores, and cuts, this process no longer sees.
   */
  disown(runId: string) {
    this.generations.delete(runId);
  }

  /**
   * For a run whose log is or was written in this process, a number that
   * stays the same as long as nothing it stored is deleted or replaced: a
   * full page read of it under one generation is what the store holds under
   * it. Only a writer deletes or replaces chunks, and one opened here (to
   * continue the log after a restart, say) changes it. Undefined for a run
   * not written here (another replica's, whose writes this process does not
   * see), taken over by another, or written here too long ago.
   */
  logGeneration(runId: string): number | undefined {
    return this.generations.get(runId);
  }

  /** A new generation, last in the order they are forgotten in. */
  private bump(runId: string) {
    this.generations.delete(runId);
    this.generations.set(runId, ++this.generation);
  }

  private forgetOldGenerations() {
    if (this.generations.size <= MAX_GENERATIONS) return;
    for (const runId of this.generations.keys()) {
      if (this.generations.size <= MAX_GENERATIONS) break;
      if (!this.writers.has(runId)) this.generations.delete(runId);
    }
  }

  /** Whether a writer of the run's log is open in this process. */
  isLive(runId: string): boolean {
    return this.writers.has(runId);
  }
}
