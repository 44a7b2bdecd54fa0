import { ResponseError } from '@backstage/errors';
import { ReleaseCommandsClient, RunLogEnd } from './ReleaseCommandsClient';
import { RunLogChunk } from './runs';

const MAX_RECONNECT_DELAY_MS = 2_000;
/** Three of the server's 15-second keep-alives missed. */
const IDLE_TIMEOUT_MS = 45_000;
const GIVE_UP_AFTER_MS = 60_000;

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
 * Gives up, with the last error, once no stream could be opened for
 * `giveUpAfterMs`. Refusals (401, 403, 404; not 408 or 429) are not retried;
 * neither is anything once `signal` is aborted. Shared by the tab, the
 * scaffolder action and the CLI.
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
    /** See `ReleaseCommandsClient.followLog`; defaults to 45 s. */
    idleTimeoutMs?: number;
    /** Defaults to 60 s. */
    giveUpAfterMs?: number;
    onChunk(chunk: RunLogChunk): void;
    /** Called before each new attempt; `attempt` is 1 for a fresh outage. */
    onReconnect?(error: unknown, attempt: number): void;
  },
): Promise<RunLogEnd> {
  const giveUpAfterMs = options.giveUpAfterMs ?? GIVE_UP_AFTER_MS;
  let after = options.after;
  let attempt = 0;
  let failingSince: number | undefined;
  const follow = () =>
    client.followLog(runId, {
      after,
      signal: options.signal,
      idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
      onOpen: () => {
        attempt = 0;
        failingSince = undefined;
      },
      onChunk: chunk => {
        after = chunk.seq;
        options.onChunk(chunk);
      },
    });
  for (;;) {
    try {
      return await follow();
    } catch (error) {
      const refused =
        ResponseError.is(error) &&
        error.statusCode < 500 &&
        ![408, 429].includes(error.statusCode);
      if (options.signal?.aborted || refused) throw error;
      const now = Date.now();
      failingSince ??= now;
      const left = giveUpAfterMs - (now - failingSince);
      if (left <= 0) throw error;
      attempt += 1;
      options.onReconnect?.(error, attempt);
      await sleep(
        Math.min(125 * 2 ** attempt, MAX_RECONNECT_DELAY_MS, left),
        options.signal,
      );
    }
  }
}
