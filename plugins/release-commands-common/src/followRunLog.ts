import { ResponseError } from '@backstage/errors';
import { ReleaseCommandsClient, RunLogEnd } from './ReleaseCommandsClient';
import { RunLogChunk } from './runs';

/** Attempts in a row without a new chunk before the log counts as lost. */
const MAX_RECONNECTS = 8;
const MAX_RECONNECT_DELAY_MS = 5_000;
/** Three of the server's 15-second keep-alives missed. */
const IDLE_TIMEOUT_MS = 45_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Follows a run's log until the run ends, resuming after the last chunk seen
 * when the stream breaks or goes silent (a restarted backend, a proxy
 * timeout, a network blip), so each chunk reaches `onChunk` exactly once.
 * Refusals (401, 403, 404; not 408 or 429) are not retried; neither is
 * anything once `signal` is aborted. Shared by the tab, the scaffolder
 * action and the CLI.
 *
 * @public
 */
export async function followRunLog(
  client: Pick<ReleaseCommandsClient, 'followLog'>,
  runId: string,
  options: {
    signal?: AbortSignal;
    /** Resume after this sequence number (default: from the start). */
    after?: number;
    idleTimeoutMs?: number;
    maxReconnects?: number;
    onChunk(chunk: RunLogChunk): void;
    onReconnect?(error: unknown, attempt: number): void;
  },
): Promise<RunLogEnd> {
  let after = options.after;
  let attempt = 0;
  const maxReconnects = options.maxReconnects ?? MAX_RECONNECTS;
  const onChunk = (chunk: RunLogChunk) => {
    after = chunk.seq;
    attempt = 0;
    options.onChunk(chunk);
  };
  for (;;) {
    try {
      return await client.followLog(runId, {
        after,
        signal: options.signal,
        idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
        onChunk,
      });
    } catch (error) {
      const refused =
        ResponseError.is(error) &&
        error.statusCode < 500 &&
        ![408, 429].includes(error.statusCode);
      if (options.signal?.aborted || refused || attempt >= maxReconnects) {
        throw error;
      }
      attempt += 1;
      options.onReconnect?.(error, attempt);
      await sleep(
        Math.min(250 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
        options.signal,
      );
    }
  }
}
