import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { RunLogStore } from '../database/RunLogStore';
import { RunEvents } from '../runs/RunEvents';

/** Reads of stored logs under way at once, by default, in a process. */
const DEFAULT_CONCURRENCY = 2;
/** Most characters of log text kept in read pages, by default, in a process. */
const DEFAULT_CACHE_CHARS = 16 * 1024 * 1024;

type Page = { afterSeq: number; limit: number };

/** A read as it resolves: with the run's generation it was made under. */
type Read = { chunks: RunLogChunk[]; generation: number | undefined };

type Waiting = {
  key: string;
  runId: string;
  page: Page;
  resolve: (read: Read) => void;
  reject: (error: unknown) => void;
  promise: Promise<Read>;
};

type Cached = {
  runId: string;
  generation: number;
  chunks: RunLogChunk[];
  chars: number;
};

/**
 * The API's reads of stored logs (followers catching up, logs downloaded):
 * a few at a time for the whole process, one for all who ask for the same
 * page while it waits its turn, and what was read of a run written here
 * kept for the next reader.
 *
 * A page of a log is megabytes; the plugin's database has few connections
 * (on SQLite one, and every read holds the event loop while it runs). A
 * hundred followers that come at once would otherwise each read the log
 * and encode it again, and every other query of the plugin (any portal
 * user's request) would wait behind their reads in the pool. Here a
 * request's query waits behind at most `concurrency` of them.
 *
 * Joining a read that has not started is the same as making it: it reads
 * what is stored when it starts, after every caller asked. A read under way
 * is never joined. The chunks a read returned of a run whose writer is (or
 * was) in this process are final: its writer stores chunks in order and
 * only appends after them, until it deletes or replaces one (the cap's
 * cuts, the note at the seam), which changes the run's generation and so
 * drops what was read before. The next reader of the same page gets them
 * again, and reads only what was stored after the last of them. The chunks
 * returned are shared: callers must not change them.
 */
export class LogReads implements Pick<RunLogStore, 'readLog'> {
  private running = 0;
  private readonly queue: Waiting[] = [];
  private readonly waitingByKey = new Map<string, Waiting>();
  /** Least recently used first. */
  private readonly cache = new Map<string, Cached>();
  private cachedChars = 0;
  private readonly concurrency: number;
  private readonly cacheChars: number;

  constructor(
    private readonly store: Pick<RunLogStore, 'readLog'>,
    private readonly events: Pick<RunEvents, 'logGeneration'>,
    options: { concurrency?: number; cacheChars?: number } = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.cacheChars = options.cacheChars ?? DEFAULT_CACHE_CHARS;
  }

  async readLog(runId: string, page: Page): Promise<RunLogChunk[]> {
    const generation = this.events.logGeneration(runId);
    if (generation === undefined)
      return (await this.queued(runId, page)).chunks;
    const key = `${runId}\n${page.afterSeq}`;
    const known = this.cached(key, generation) ?? [];
    if (known.length >= page.limit) {
      return known.length === page.limit ? known : known.slice(0, page.limit);
    }
    const read = await this.queued(runId, {
      afterSeq: known.length > 0 ? known[known.length - 1].seq : page.afterSeq,
      limit: page.limit - known.length,
    });
    if (read.generation !== generation) {
      // Rewritten meanwhile: what was known may be gone from the store.
      return known.length > 0
        ? (await this.queued(runId, page)).chunks
        : read.chunks;
    }
    const chunks = known.length > 0 ? known.concat(read.chunks) : read.chunks;
    if (read.chunks.length > 0) this.remember(key, runId, generation, chunks);
    return chunks;
  }

  /** A valid cached read, now the most recently used. */
  private cached(key: string, generation: number): RunLogChunk[] | undefined {
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    this.uncache(key, entry);
    if (entry.generation !== generation) return undefined;
    this.cache.set(key, entry);
    this.cachedChars += entry.chars;
    return entry.chunks;
  }

  /** A read in the queue: joined while it waits, started in turn. */
  private queued(runId: string, page: Page): Promise<Read> {
    const key = `${runId}\n${page.afterSeq}\n${page.limit}`;
    const joined = this.waitingByKey.get(key);
    if (joined) return joined.promise;
    let resolve!: Waiting['resolve'];
    let reject!: Waiting['reject'];
    const promise = new Promise<Read>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiting = { key, runId, page, resolve, reject, promise };
    this.waitingByKey.set(key, waiting);
    this.queue.push(waiting);
    this.startNext();
    return promise;
  }

  private startNext() {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const next = this.queue.shift()!;
      // Started: whoever asks from now on waits for a read of their own.
      this.waitingByKey.delete(next.key);
      this.running += 1;
      this.read(next);
    }
  }

  private async read({ runId, page, resolve, reject }: Waiting) {
    const before = this.events.logGeneration(runId);
    try {
      const chunks = await this.store.readLog(runId, page);
      const after = this.events.logGeneration(runId);
      resolve({ chunks, generation: before === after ? before : undefined });
    } catch (error) {
      reject(error);
    } finally {
      this.running -= 1;
      this.startNext();
    }
  }

  private remember(
    key: string,
    runId: string,
    generation: number,
    chunks: RunLogChunk[],
  ) {
    let chars = 0;
    for (const chunk of chunks) chars += chunk.text.length;
    const old = this.cache.get(key);
    if (old) this.uncache(key, old);
    if (chars > this.cacheChars) return;
    // Reads of runs rewritten since, or no longer remembered, go first.
    for (const [k, entry] of this.cache) {
      if (entry.generation !== this.events.logGeneration(entry.runId)) {
        this.uncache(k, entry);
      }
    }
    for (const [k, entry] of this.cache) {
      if (this.cachedChars + chars <= this.cacheChars) break;
      this.uncache(k, entry);
    }
    this.cache.set(key, { runId, generation, chunks, chars });
    this.cachedChars += chars;
  }

  private uncache(key: string, entry: Cached) {
    this.cache.delete(key);
    this.cachedChars -= entry.chars;
  }
}
