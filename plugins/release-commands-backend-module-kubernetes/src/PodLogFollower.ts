import { KubeConfig, Log } from '@kubernetes/client-node';
import { Writable } from 'node:stream';

/** `2026-01-01T00:00:00.123456789Z text`, as the API writes with `timestamps=true`. */
const TIMESTAMPED =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ?/;

/** What the follower needs to know of the pod's container, kept current by its caller. */
export type ContainerProgress = {
  /** True once the container has terminated: its log can only grow no more. */
  terminated(): boolean;
  /** Resolves at the next change of the pod, or after `ms`. */
  nextChange(ms: number): Promise<void>;
};

/** How long to wait before following again after a follow ended early. */
const REFOLLOW_BACKOFF_MS = 1000;
/**
 * A follow stream that does not end once the container has terminated
 * (a connection lost without a close) is given up after this long; the
 * read that follows fills in what it missed.
 */
const FOLLOW_END_TIMEOUT_MS = 5000;

/** A read of the log without `follow` that brings nothing for this long is given up. */
const READ_TIMEOUT_MS = 30_000;

/**
 * Follows a container's log with timestamps and hands each line on without
 * its timestamp. The API's follow streams end early now and then; after
 * each one the log is read again from the last timestamp seen
 * (`sinceTime`, which the API reads to the second), dropping the lines
 * already handed on, and followed again while the container runs. Only
 * once the container has terminated and a read after that has been handed
 * on is the log complete.
 */
export class PodLogFollower {
  /** The timestamp of the last line handed on, comparable as a string. */
  private lastKey = '';
  /** How many lines with exactly that timestamp were handed on. */
  private seenAtLast = 0;
  /** The last line of the last read, when it had no line end (yet). */
  private partial = '';

  constructor(
    private readonly kc: KubeConfig,
    private readonly target: {
      namespace: string;
      pod: string;
      container: string;
    },
    private readonly onLine: (line: string) => void | Promise<void>,
  ) {}

  /** Resolves once the whole log was handed on, or `signal` aborted. */
  async follow(
    progress: ContainerProgress,
    signal: AbortSignal,
  ): Promise<void> {
    while (!signal.aborted) {
      const got = await this.read(true, progress, signal);
      // Decided before the read, so that the read is known to hold the end.
      const ended = progress.terminated();
      await this.read(false, progress, signal);
      if (ended) {
        if (this.partial) await this.onLine(this.partial);
        return;
      }
      if (!got) await progress.nextChange(REFOLLOW_BACKOFF_MS);
    }
  }

  /**
   * One response, until it ends: a follow stream, or a read of what the
   * log holds. False when it could not be had or brought nothing new.
   */
  private async read(
    follow: boolean,
    progress: ContainerProgress,
    signal: AbortSignal,
  ): Promise<boolean> {
    const { namespace, pod, container } = this.target;
    const lines = this.lines();
    let got = false;
    let closed = false;
    let writing = Promise.resolve();
    let ended = false;
    let finish = () => {};
    const finished = new Promise<void>(resolve => {
      finish = () => {
        ended = true;
        resolve();
      };
    });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (closed) {
          callback();
          return;
        }
        writing = lines.push(chunk.toString('utf8')).then(delivered => {
          got ||= delivered;
        });
        writing.then(() => callback(), callback);
      },
      final: callback => {
        lines.end();
        callback();
        finish();
      },
    });
    sink.on('error', finish);
    let request: AbortController;
    try {
      request = await new Log(this.kc).log(namespace, pod, container, sink, {
        follow,
        timestamps: true,
        sinceTime: this.sinceTime(),
      });
    } catch {
      return false;
    }
    const aborted = new Promise<void>(resolve =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    try {
      if (!follow) {
        await Promise.race([finished, aborted, delay(READ_TIMEOUT_MS)]);
      }
      while (follow && !ended && !signal.aborted) {
        if (progress.terminated()) {
          await Promise.race([finished, aborted, delay(FOLLOW_END_TIMEOUT_MS)]);
          break;
        }
        await Promise.race([finished, aborted, progress.nextChange(60_000)]);
      }
    } finally {
      if (!ended) request.abort();
      // What the response brings after this is read again by the next one.
      closed = true;
      await writing.catch(() => {});
    }
    return got;
  }

  /**
   * The lines of one response: drops those handed on already, and hands on
   * the rest. Lines with the last timestamp seen are told apart by their
   * place among the lines of that same timestamp.
   */
  private lines() {
    let buffer = '';
    let runKey = '';
    let runIndex = 0;
    const handle = async (raw: string, last: boolean) => {
      const match = TIMESTAMPED.exec(raw);
      if (!match) return false;
      const key = `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}${match[3]}`;
      if (key === runKey) {
        runIndex += 1;
      } else {
        runKey = key;
        runIndex = 0;
      }
      if (key < this.lastKey) return false;
      if (key === this.lastKey && runIndex < this.seenAtLast) return false;
      // With a terminal, lines end with \r\n.
      const text = raw.slice(match[0].length).replace(/\r$/, '');
      if (last) {
        // No line end yet: handed on when it comes, or when the log ends.
        this.partial = text;
        return false;
      }
      this.partial = '';
      if (key === this.lastKey) {
        this.seenAtLast += 1;
      } else {
        this.lastKey = key;
        this.seenAtLast = 1;
      }
      await this.onLine(`${text}\n`);
      return true;
    };
    return {
      /** Hands on the complete lines so far; true when any was new. */
      push: async (text: string): Promise<boolean> => {
        buffer += text;
        const complete = buffer.split('\n');
        buffer = complete.pop()!;
        let delivered = false;
        for (const raw of complete) {
          delivered = (await handle(raw, false)) || delivered;
        }
        return delivered;
      },
      /** The response ended inside a line. */
      end: () => {
        if (buffer) void handle(buffer, true);
      },
    };
  }

  /** The second of the last line handed on, as the API takes it. */
  private sinceTime(): string | undefined {
    if (!this.lastKey) return undefined;
    return `${this.lastKey.slice(0, 19)}${this.lastKey.slice(29)}`;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref());
}
