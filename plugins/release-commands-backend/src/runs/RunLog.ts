import {
  formatBytes,
  RunLogChunk,
} from '@release-commands/backstage-plugin-release-commands-common';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunLogStore } from '../database/RunLogStore';
import { LogWrite } from './RunEvents';
import { isPermanentStoreError } from './storeRetries';

export type RunLogOptions = {
  store: Pick<RunLogStore, 'writeLog'>;
  runId: string;
  /**
   * The instance that owns the run: writes are refused once the run is no
   * longer its (recovery ended it), and the writer then drops what it holds.
   */
  ownerInstance?: string;
  /** The sequence number of the first chunk written (0 for a new log). */
  firstSeq?: number;
  /** Most bytes of command output kept per run: the first and last halves. */
  capBytes: number;
  /** How often buffered output is written. */
  flushIntervalMs?: number;
  /**
   * Called after each write that stored new chunks, with them, so that
   * followers get what is new without reading it back.
   */
  onWritten?: (write: LogWrite) => void;
  /**
   * Called after each write that deleted or replaced stored chunks (the
   * cap's cuts, the note at the seam): what was read of the log before may
   * no longer be what it holds.
   */
  onRewritten?: () => void;
  /** Called once when the writer is closed or fenced: it writes no more. */
  onClosed?: () => void;
  /** Called at the first failure of a streak, and when output is lost. */
  onError?: (error: Error) => void;
  /** Called once when the store refuses the owner's writes. */
  onFenced?: () => void;
  /** Applied to the plugin's own lines: they may quote a command's text. */
  redact?: (text: string) => string;
};

/**
 * A chunk not yet written. Its text is kept as the bytes it came in, off the
 * JavaScript heap, until it is written: a chunk can wait long enough for the
 * heap's young generation to be collected twice, and would then be copied
 * into the old one, which only a full collection frees.
 */
type PendingChunk = Omit<RunLogChunk, 'text'> & {
  /** The text's bytes, each part ending at a character boundary. */
  parts: Buffer[];
  /** The bytes it counts against the cap: 0 for the plugin's own notes. */
  bytes: number;
  droppable: boolean;
  /** Never merged with the lines around it. */
  alone?: boolean;
  /** The note that says output was lost. */
  lostNote?: boolean;
};

const MAX_CHUNK_BYTES = 64 * 1024;
const EAGER_FLUSH_BYTES = 256 * 1024;
/** Most bytes of chunks one write stores. */
const MAX_WRITE_BYTES = 512 * 1024;
const FIRST_RETRY_MS = 100;
const EMPTY = Buffer.alloc(0);
const MAX_RETRY_MS = 2000;

/**
 * The log of one run as it is written: buffered, in order, and capped.
 *
 * The first half of the cap keeps the head of the output; past it, only the
 * most recent output up to the other half is kept, older tail chunks being
 * deleted (or dropped before they are written) as new ones arrive. A system
 * line at the seam says how much was cut, and live followers, who are past
 * the seam by then, are told where cutting starts. The plugin's own lines
 * (headings, step results, the verdict) are never cut. Memory stays within
 * the cap however fast a command prints, also while the store is down: a
 * failed write is kept and tried again, with backoff, and what is finally
 * lost is said in the log.
 */
export class RunLog {
  private readonly headBudget: number;
  private readonly tailBudget: number;
  private nextSeq = 0;
  private headBytes = 0;
  private headFull = false;
  private tailBytes = 0;
  private markerSeq: number | undefined;
  private markerDirty = false;
  private pending: PendingChunk[] = [];
  private pendingBytes = 0;
  private storedTail: Array<{ seq: number; bytes: number }> = [];
  private toDelete: number[] = [];
  private writing: Promise<boolean> = Promise.resolve(true);
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private redact: ((text: string) => string) | undefined;
  private liveNoteSeq: number | undefined;
  private failures = 0;
  private retryAt = 0;
  private fenced = false;
  /** Every chunk up to this one that will be stored was stored. */
  private writtenThrough: number;
  /** Bytes of command output cut from the middle of the log. */
  cutBytes = 0;
  /** Bytes of the log that could not be stored. */
  lostBytes = 0;

  constructor(private readonly options: RunLogOptions) {
    this.nextSeq = options.firstSeq ?? 0;
    this.writtenThrough = this.nextSeq - 1;
    this.redact = options.redact;
    this.headBudget = Math.floor(options.capBytes / 2);
    this.tailBudget = options.capBytes - this.headBudget;
    this.timer = setInterval(
      () => this.flush(),
      options.flushIntervalMs ?? 100,
    );
    this.timer.unref?.();
  }

  /**
   * One of the plugin's own lines; `alone` keeps it a chunk of its own, so
   * that a reader can be shown it changed without the lines around it.
   */
  system(text: string, step: number | null = null, alone = false) {
    const redacted = this.redact?.(text) ?? text;
    this.append(step, 'system', Buffer.from(`${redacted}\n`), false, alone);
  }

  /**
   * Command output, already masked; bytes end at a character boundary. They
   * are kept, not copied, until written.
   */
  output(step: number, stream: 'stdout' | 'stderr', text: string | Buffer) {
    if (text.length === 0) return;
    let rest = typeof text === 'string' ? Buffer.from(text) : text;
    if (!this.headFull) {
      const [head, after] = splitHead(rest, this.headBudget - this.headBytes);
      if (head.length > 0) {
        this.headBytes += head.length;
        this.append(step, stream, head, false);
      }
      if (after.length === 0) return;
      this.headFull = true;
      // Reserved now so the seam note sorts between head and tail.
      this.markerSeq = this.nextSeq++;
      rest = after;
    }
    const [dropped, kept] = splitTail(rest, this.tailBudget);
    if (dropped.length > 0) this.noteCut(dropped.length);
    this.tailBytes += kept.length;
    this.append(step, stream, kept, true);
    this.enforceTailBudget();
  }

  /**
   * Writes what is buffered (after a failure, once its backoff has passed);
   * resolves true once everything is stored.
   */
  flush(): Promise<boolean> {
    return this.enqueueWrite(false);
  }

  /**
   * Stops the timer, forgets the redaction (and so the secrets it masks),
   * and writes the rest, retrying with backoff until it is stored or
   * `signal` gives up; what is left then is counted as lost.
   */
  async close(signal?: AbortSignal): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.redact = undefined;
    if (this.liveNoteSeq !== undefined) {
      // Followers saw it; a later reader has the note at the seam.
      this.toDelete.push(this.liveNoteSeq);
      this.liveNoteSeq = undefined;
    }
    try {
      await this.writeTheRest(signal);
    } finally {
      this.options.onClosed?.();
    }
  }

  private async writeTheRest(signal?: AbortSignal) {
    let delay = FIRST_RETRY_MS;
    while (!(await this.enqueueWrite(true))) {
      if (signal?.aborted) {
        const left = this.pending.reduce((sum, c) => sum + c.bytes, 0);
        this.lostBytes += left;
        this.pending = [];
        this.pendingBytes = 0;
        this.options.onError?.(
          new Error(
            `gave up writing the log: ${formatBytes(left)} of it are lost`,
          ),
        );
        return;
      }
      await sleep(delay, undefined, { signal }).catch(() => {});
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }

  private enqueueWrite(force: boolean): Promise<boolean> {
    this.writing = this.writing.then(() => this.write(force));
    return this.writing;
  }

  private append(
    step: number | null,
    stream: RunLogChunk['stream'],
    text: Buffer,
    droppable: boolean,
    alone = false,
  ) {
    if (this.closed || this.fenced) return;
    const bytes = text.length;
    const last = this.pending[this.pending.length - 1];
    if (
      last &&
      !alone &&
      !last.alone &&
      last.step === step &&
      last.stream === stream &&
      last.droppable === droppable &&
      last.bytes + bytes <= this.maxChunkBytes(droppable)
    ) {
      last.parts.push(text);
      last.bytes += bytes;
    } else {
      this.pending.push({
        seq: this.nextSeq++,
        step,
        stream,
        at: new Date().toISOString(),
        parts: [text],
        bytes,
        droppable,
        alone,
      });
    }
    this.pendingBytes += bytes;
    if (this.pendingBytes >= EAGER_FLUSH_BYTES) {
      this.flush();
    }
  }

  private enforceTailBudget() {
    while (this.tailBytes > this.tailBudget) {
      const stored = this.storedTail.shift();
      if (stored) {
        this.toDelete.push(stored.seq);
        this.cut(stored.bytes);
        continue;
      }
      const index = this.pending.findIndex(c => c.droppable);
      if (index < 0) break;
      const oldest = this.pending[index];
      const excess = this.tailBytes - this.tailBudget;
      // Dropped whole, as a stored chunk is deleted whole, unless it is
      // larger than a tail chunk grows by merging (one output past the cap):
      // trimming copies it, and a writer that lags would trim at every read.
      if (oldest.bytes > excess && oldest.bytes > this.maxChunkBytes(true)) {
        // Not yet written: trim its start rather than lose all of it.
        const [dropped, kept] = splitTail(
          Buffer.concat(oldest.parts),
          oldest.bytes - excess,
        );
        const droppedBytes = dropped.length;
        oldest.parts = [kept];
        oldest.bytes -= droppedBytes;
        this.pendingBytes -= droppedBytes;
        this.cut(droppedBytes);
        if (oldest.bytes > 0) continue;
      } else {
        this.pendingBytes -= oldest.bytes;
        this.cut(oldest.bytes);
      }
      this.pending.splice(index, 1);
    }
  }

  /**
   * Tail chunks stay small next to the tail's budget, so that dropping the
   * oldest one never drops much more than needed.
   */
  private maxChunkBytes(droppable: boolean): number {
    return droppable
      ? Math.max(1, Math.min(MAX_CHUNK_BYTES, Math.floor(this.tailBudget / 8)))
      : MAX_CHUNK_BYTES;
  }

  private cut(bytes: number) {
    this.tailBytes -= bytes;
    this.noteCut(bytes);
  }

  private noteCut(bytes: number) {
    if (this.cutBytes === 0 && bytes > 0 && !this.closed) {
      // The seam note sits where followers already were: tell them here.
      this.liveNoteSeq = this.nextSeq++;
      // A chunk of its own, so that it can be deleted alone at the end.
      this.pending.push({
        seq: this.liveNoteSeq,
        step: null,
        stream: 'system',
        at: new Date().toISOString(),
        parts: [
          Buffer.from(
            `[The log is over its cap from here on: older command output is being cut, and the log will keep the first ${formatBytes(
              this.headBudget,
            )} and the last ${formatBytes(this.tailBudget)} of output]\n`,
          ),
        ],
        bytes: 0,
        droppable: false,
      });
    }
    this.cutBytes += bytes;
    this.markerDirty = true;
  }

  /**
   * Resolves true once nothing is left to write: in batches of at most
   * `MAX_WRITE_BYTES`, letting the event loop run between them, so that no
   * one write (synchronous on SQLite) holds up the portal's requests.
   */
  private async write(force: boolean): Promise<boolean> {
    for (;;) {
      const written = await this.writeBatch(force);
      if (written !== 'more') return written;
      await new Promise(resolve => setImmediate(resolve));
    }
  }

  private async writeBatch(force: boolean): Promise<boolean | 'more'> {
    if (this.fenced) return true;
    if (!force && this.failures > 0 && Date.now() < this.retryAt) {
      return false;
    }
    const putMarker = this.markerDirty && this.markerSeq !== undefined;
    // Pending chunks are in sequence order: a batch is the oldest of them.
    let size = 0;
    let count = 0;
    while (count < this.pending.length && size < MAX_WRITE_BYTES) {
      size += this.pending[count++].bytes;
    }
    const batch = this.pending.slice(0, count);
    const deletes = this.toDelete;
    if (batch.length === 0 && deletes.length === 0 && !putMarker) return true;
    this.pending = this.pending.slice(count);
    this.pendingBytes -= size;
    this.toDelete = [];
    this.markerDirty = false;
    // Every chunk this log will store up to `through` is in this batch or
    // was written before it.
    const through =
      this.pending.length > 0 ? this.pending[0].seq - 1 : this.nextSeq - 1;
    // Counted as stored before the write resolves, so that output arriving
    // meanwhile can still push them out of the tail.
    const tail = batch
      .filter(chunk => chunk.droppable)
      .map(chunk => ({ seq: chunk.seq, bytes: chunk.bytes }));
    this.storedTail.push(...tail);
    const { store, runId, ownerInstance } = this.options;
    // Decoded only now, and once: the store and followers share the text.
    const append = batch.map(({ seq, step, stream, at, parts }) => ({
      seq,
      step,
      stream,
      at,
      text: (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString(),
    }));
    try {
      const written = await store.writeLog(
        runId,
        {
          append,
          put: putMarker ? [this.seamNote()] : [],
          delete: deletes,
        },
        { ownerInstance },
      );
      if (!written) {
        this.fence();
        return true;
      }
      this.failures = 0;
      if (deletes.length > 0 || putMarker) this.options.onRewritten?.();
      if (append.length > 0) {
        const after = this.writtenThrough;
        this.writtenThrough = through;
        this.options.onWritten?.({ after, through, chunks: append });
      }
      if (this.pending.length > 0 && count > 0) return 'more';
      return (
        this.pending.length === 0 &&
        this.toDelete.length === 0 &&
        !this.markerDirty
      );
    } catch (error) {
      this.takeBack(batch, tail, deletes, putMarker, error);
      return false;
    }
  }

  /** Puts a failed write back, or counts it as lost when retrying is futile. */
  private takeBack(
    batch: PendingChunk[],
    tail: Array<{ seq: number }>,
    deletes: number[],
    putMarker: boolean,
    error: unknown,
  ) {
    const tailSeqs = new Set(tail.map(c => c.seq));
    // Pushed out of the tail while the write was under way: cut, not kept.
    const cutMeanwhile = new Set(this.toDelete.filter(s => tailSeqs.has(s)));
    this.toDelete = [
      ...deletes,
      ...this.toDelete.filter(s => !cutMeanwhile.has(s)),
    ];
    this.storedTail = this.storedTail.filter(c => !tailSeqs.has(c.seq));
    if (putMarker) this.markerDirty = true;
    const back = batch.filter(chunk => !cutMeanwhile.has(chunk.seq));
    if (isPermanentStoreError(error)) {
      const bytes = back.reduce((sum, c) => sum + c.bytes, 0);
      for (const chunk of back) {
        if (chunk.droppable) this.tailBytes -= chunk.bytes;
      }
      const hadNote = back.some(c => c.stream === 'system' && c.lostNote);
      this.lostBytes += bytes;
      this.options.onError?.(error as Error);
      if (!hadNote && !this.fenced) {
        this.pending.push({
          seq: this.nextSeq++,
          step: null,
          stream: 'system',
          at: new Date().toISOString(),
          parts: [
            Buffer.from(
              `[${formatBytes(
                bytes,
              )} of this log could not be stored and are lost: ${
                (error as Error).message ?? error
              }]\n`,
            ),
          ],
          bytes: 0,
          droppable: false,
          lostNote: true,
        });
      }
      return;
    }
    this.pending = [...back, ...this.pending];
    this.pendingBytes += back.reduce((sum, c) => sum + c.bytes, 0);
    this.failures++;
    this.retryAt =
      Date.now() +
      Math.min(FIRST_RETRY_MS * 2 ** (this.failures - 1), MAX_RETRY_MS);
    if (this.failures === 1) this.options.onError?.(error as Error);
  }

  /** The run ended elsewhere: nothing more of this writer is stored. */
  private fence() {
    this.fenced = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.toDelete = [];
    this.storedTail = [];
    this.options.onFenced?.();
    this.options.onClosed?.();
  }

  private seamNote(): RunLogChunk {
    return {
      seq: this.markerSeq!,
      step: null,
      stream: 'system',
      at: new Date().toISOString(),
      text: `[${formatBytes(
        this.cutBytes,
      )} of command output cut here: the log keeps the first ${formatBytes(
        this.headBudget,
      )} and the last ${formatBytes(
        this.tailBudget,
      )} of output, and every line of its own]\n`,
    };
  }
}

/**
 * The start of `text` that fits in `bytes`, ending at a line break when one
 * falls inside (so the seam note starts a line), and the rest.
 */
function splitHead(text: Buffer, bytes: number): [Buffer, Buffer] {
  if (text.length <= bytes) return [text, EMPTY];
  let cut = characterBoundary(text, Math.max(0, bytes));
  // (lastIndexOf counts a negative offset from the end: only search inside.)
  const newline = cut > 0 ? text.lastIndexOf(0x0a, cut - 1) : -1;
  if (newline >= 0) cut = newline + 1;
  return [text.subarray(0, cut), text.subarray(cut)];
}

/**
 * What to drop from the start of `text` so the rest fits in `bytes`, the
 * rest starting after a line break when one falls inside, and the rest.
 */
function splitTail(text: Buffer, bytes: number): [Buffer, Buffer] {
  if (text.length <= bytes) return [EMPTY, text];
  let cut = characterBoundary(text, text.length - bytes);
  const newline = text.indexOf(0x0a, cut);
  if (newline >= 0 && newline + 1 < text.length) cut = newline + 1;
  return [text.subarray(0, cut), text.subarray(cut)];
}

/** Moves `index` back to the start of the UTF-8 character it falls in. */
function characterBoundary(buffer: Buffer, index: number): number {
  let at = Math.min(index, buffer.length);
  // Continuation bytes look like 10xxxxxx.
  while (at > 0 && at < buffer.length && (buffer[at] & 0xc0) === 0x80) at--;
  return at;
}
