import {
  followRunLog as followSharedRunLog,
  RunLogChunk,
  RunLogEnd,
} from '@release-commands/backstage-plugin-release-commands-common';
import { BackendConnection, describeRequestError } from './connectToBackend';

export type FollowRunLogOptions = {
  onChunk(chunk: RunLogChunk): void;
  /** Give up after failing to reach the backend for this long. */
  reconnectMs: number;
  /** A stream silent this long counts as broken (keep-alives come every 15 s). */
  idleMs?: number;
  signal?: AbortSignal;
  /** Called once each time the stream breaks after working. */
  onBroken?(error: unknown): void;
};

/** The stream broke and the backend could not be reached again in time. */
export class LostContactError extends Error {
  constructor(
    readonly runId: string,
    readonly lastError: unknown,
    readonly afterMs: number,
  ) {
    super(
      `lost contact with the backend for ${Math.round(
        afterMs / 1000,
      )}s while following run ${runId} (${describeRequestError(lastError)})`,
    );
    this.name = 'LostContactError';
  }
}

/**
 * Follows a run's log to its end with the shared resuming follower, so no
 * chunk is lost or repeated, and turns giving up into `LostContactError`
 * (the outcome is unknown: exit 3). Refusals (401, 403, 404) are thrown as
 * they are.
 */
export async function followRunLog(
  backend: BackendConnection,
  runId: string,
  options: FollowRunLogOptions,
): Promise<RunLogEnd> {
  let brokenAt: number | undefined;
  try {
    return await followSharedRunLog(backend.client, runId, {
      signal: options.signal,
      idleTimeoutMs: options.idleMs,
      giveUpAfterMs: options.reconnectMs,
      onChunk: options.onChunk,
      onReconnect: (error, attempt) => {
        if (attempt === 1) {
          brokenAt = Date.now();
          options.onBroken?.(error);
        }
      },
    });
  } catch (error) {
    if (options.signal?.aborted || brokenAt === undefined) throw error;
    throw new LostContactError(runId, error, Date.now() - brokenAt);
  }
}
