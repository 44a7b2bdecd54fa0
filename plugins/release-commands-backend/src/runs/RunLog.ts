import {
  formatBytes,
  RunLogChunk,
} from '@release-commands/backstage-plugin-release-commands-common';
import { RunLogStore } from '../database/RunLogStore';

export type RunLogOptions = {
  store: Pick<RunLogStore, 'appendLog' | 'putLogChunk' | 'deleteLogChunks'>;
  runId: string;
  /** The sequence number of the first chunk written (0 for a new log). */
  firstSeq?: number;
  /** Most bytes of command output kept per run: the first and last halves. */
  capBytes: number;
  /** How often buffered output is written. */
  flushIntervalMs?: number;
  /** Called after each write, so that followers read what is new. */
  onWritten?: () => void;
  onError?: (error: Error) => void;
  /** Applied to the plugin's own lines: they may quote a command's text. */
  redact?: (text: string) => string;
};

type PendingChunk = RunLogChunk & { bytes: number; droppable: boolean };

const MAX_CHUNK_BYTES = 64 * 1024;
const EAGER_FLUSH_BYTES = 256 * 1024;

/**
 * The log of one run as it is written: buffered, in order, and capped.
 *
 * The first half of the cap keeps the head of the output; past it, only the
 * most recent output up to the other half is kept, older tail chunks being
 * deleted (or dropped before they are written) as new ones arrive. A system
 * line at the seam says how much was cut. The plugin's own lines (headings,
 * step results, the verdict) are never cut. Memory stays within the cap
 * however fast a command prints.
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
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Bytes of command output cut from the middle of the log. */
  cutBytes = 0;

  constructor(private readonly options: RunLogOptions) {
    this.nextSeq = options.firstSeq ?? 0;
    this.headBudget = Math.floor(options.capBytes / 2);
    this.tailBudget = options.capBytes - this.headBudget;
    this.timer = setInterval(
      () => this.flush(),
      options.flushIntervalMs ?? 100,
    );
    this.timer.unref?.();
  }

  /** One of the plugin's own lines. */
  system(text: string, step: number | null = null) {
    const redacted = this.options.redact?.(text) ?? text;
    this.append(step, 'system', `${redacted}\n`, false);
  }

  /** Command output, already masked. */
  output(step: number, stream: 'stdout' | 'stderr', text: string) {
    if (!text) return;
    let rest = text;
    if (!this.headFull) {
      const [head, after] = splitHead(rest, this.headBudget - this.headBytes);
      if (head) {
        this.headBytes += Buffer.byteLength(head);
        this.append(step, stream, head, false);
      }
      if (!after) return;
      this.headFull = true;
      // Reserved now so the seam note sorts between head and tail.
      this.markerSeq = this.nextSeq++;
      rest = after;
    }
    const [dropped, kept] = splitTail(rest, this.tailBudget);
    if (dropped) {
      this.cutBytes += Buffer.byteLength(dropped);
      this.markerDirty = true;
    }
    this.tailBytes += Buffer.byteLength(kept);
    this.append(step, stream, kept, true);
    this.enforceTailBudget();
  }

  /** Writes what is buffered; resolves when it is stored. */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  /** Writes the rest and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
  }

  private append(
    step: number | null,
    stream: RunLogChunk['stream'],
    text: string,
    droppable: boolean,
  ) {
    if (this.closed) return;
    const bytes = Buffer.byteLength(text);
    const last = this.pending[this.pending.length - 1];
    if (
      last &&
      last.step === step &&
      last.stream === stream &&
      last.droppable === droppable &&
      last.bytes + bytes <= this.maxChunkBytes(droppable)
    ) {
      last.text += text;
      last.bytes += bytes;
    } else {
      this.pending.push({
        seq: this.nextSeq++,
        step,
        stream,
        at: new Date().toISOString(),
        text,
        bytes,
        droppable,
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
      if (oldest.bytes > excess) {
        // Not yet written: trim its start rather than lose all of it.
        const [dropped, kept] = splitTail(oldest.text, oldest.bytes - excess);
        const droppedBytes = Buffer.byteLength(dropped);
        oldest.text = kept;
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
    this.cutBytes += bytes;
    this.markerDirty = true;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    const deletes = this.toDelete;
    this.pending = [];
    this.pendingBytes = 0;
    this.toDelete = [];
    // Counted as stored before the insert resolves, so that output arriving
    // meanwhile can still push them out of the tail.
    for (const chunk of batch) {
      if (chunk.droppable) {
        this.storedTail.push({ seq: chunk.seq, bytes: chunk.bytes });
      }
    }
    const { store, runId } = this.options;
    try {
      if (batch.length > 0) {
        await store.appendLog(
          runId,
          batch.map(({ seq, step, stream, at, text }) => ({
            seq,
            step,
            stream,
            at,
            text,
          })),
        );
      }
      if (deletes.length > 0) {
        await store.deleteLogChunks(runId, deletes);
      }
      if (this.markerDirty && this.markerSeq !== undefined) {
        this.markerDirty = false;
        await store.putLogChunk(runId, {
          seq: this.markerSeq,
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
        });
      }
    } catch (error) {
      this.options.onError?.(error as Error);
    }
    if (batch.length > 0 || deletes.length > 0) {
      this.options.onWritten?.();
    }
  }
}

/**
 * The start of `text` that fits in `bytes`, ending at a line break when one
 * falls inside (so the seam note starts a line), and the rest.
 */
function splitHead(text: string, bytes: number): [string, string] {
  // Counted before copying: nearly every chunk fits whole.
  if (Buffer.byteLength(text) <= bytes) return [text, ''];
  const buffer = Buffer.from(text);
  let cut = characterBoundary(buffer, Math.max(0, bytes));
  // (lastIndexOf counts a negative offset from the end: only search inside.)
  const newline = cut > 0 ? buffer.lastIndexOf(0x0a, cut - 1) : -1;
  if (newline >= 0) cut = newline + 1;
  return [buffer.subarray(0, cut).toString(), buffer.subarray(cut).toString()];
}

/**
 * What to drop from the start of `text` so the rest fits in `bytes`, the
 * rest starting after a line break when one falls inside, and the rest.
 */
function splitTail(text: string, bytes: number): [string, string] {
  if (Buffer.byteLength(text) <= bytes) return ['', text];
  const buffer = Buffer.from(text);
  let cut = characterBoundary(buffer, buffer.length - bytes);
  const newline = buffer.indexOf(0x0a, cut);
  if (newline >= 0 && newline + 1 < buffer.length) cut = newline + 1;
  return [buffer.subarray(0, cut).toString(), buffer.subarray(cut).toString()];
}

/** Moves `index` back to the start of the UTF-8 character it falls in. */
function characterBoundary(buffer: Buffer, index: number): number {
  let at = Math.min(index, buffer.length);
  // Continuation bytes look like 10xxxxxx.
  while (at > 0 && at < buffer.length && (buffer[at] & 0xc0) === 0x80) at--;
  return at;
}
