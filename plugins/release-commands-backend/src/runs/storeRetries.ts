import { setTimeout as sleep } from 'node:timers/promises';

export type StoreRetryOptions = {
  /** Stops retrying: the last error is thrown. */
  signal?: AbortSignal;
  /** Called before each wait, with the error and the attempt that failed. */
  onRetry?(error: unknown, attempt: number): void;
  firstDelayMs?: number;
  maxDelayMs?: number;
};

/**
 * Whether a store error will fail again however often it is retried: the
 * statement itself is wrong (a constraint, a value out of range), as opposed
 * to the database being unreachable, restarting or busy.
 */
export function isPermanentStoreError(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  if (typeof code !== 'string') return false;
  // PostgreSQL SQLSTATE classes: data exceptions, integrity constraints,
  // syntax and access rules.
  if (/^(22|23|42)[0-9A-Z]{3}$/.test(code)) return true;
  return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE|ERROR)/.test(code);
}

/**
 * Runs a store write until it succeeds, waiting longer after each failure
 * (from `firstDelayMs`, doubling up to `maxDelayMs`). A permanent error is
 * thrown at once; so is the last error once `signal` is aborted.
 */
export async function retryStoreWrite<T>(
  write: () => Promise<T>,
  options: StoreRetryOptions = {},
): Promise<T> {
  const { signal, firstDelayMs = 100, maxDelayMs = 2000 } = options;
  let delay = firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (isPermanentStoreError(error) || signal?.aborted) throw error;
      options.onRetry?.(error, attempt);
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        throw error;
      }
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
