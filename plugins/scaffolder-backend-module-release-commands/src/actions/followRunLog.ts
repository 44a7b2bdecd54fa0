import { ResponseError } from '@backstage/errors';
import {
  ReleaseCommandsClient,
  RunLogChunk,
  RunLogEnd,
} from '@internal/backstage-plugin-release-commands-common';
import { setTimeout as sleep } from 'node:timers/promises';

/** Attempts in a row without a new chunk before the log counts as lost. */
const MAX_RECONNECTS = 8;
const MAX_RECONNECT_DELAY_MS = 5_000;

/**
 * Follows a run's log until the run ends, resuming after the last chunk seen
 * when the stream breaks (a restarted backend, a proxy timeout), so each
 * line reaches `onChunk` exactly once. Refusals (401, 403, 404; not 408
 * or 429) are not retried; neither is anything once `signal` is aborted.
 */
export async function followRunLog(
  client: ReleaseCommandsClient,
  runId: string,
  options: {
    signal?: AbortSignal;
    onChunk(chunk: RunLogChunk): void;
    onReconnect?(error: unknown, attempt: number): void;
  },
): Promise<RunLogEnd> {
  let after: number | undefined;
  let attempt = 0;
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
        onChunk,
      });
    } catch (error) {
      const refused =
        ResponseError.is(error) &&
        error.statusCode < 500 &&
        ![408, 429].includes(error.statusCode);
      if (options.signal?.aborted || refused || attempt >= MAX_RECONNECTS) {
        throw error;
      }
      attempt += 1;
      options.onReconnect?.(error, attempt);
      await sleep(
        Math.min(250 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
        undefined,
        { signal: options.signal },
      ).catch(() => {});
    }
  }
}
