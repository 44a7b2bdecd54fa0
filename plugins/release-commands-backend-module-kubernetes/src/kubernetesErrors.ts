import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';

/** Whether the API answered with this HTTP status (`ApiException.code`). */
export function hasCode(error: unknown, code: number): boolean {
  return (error as { code?: unknown } | undefined)?.code === code;
}

/** Settles `action`, taking a 404 (already gone) for success. */
export async function unlessGone(action: Promise<unknown>): Promise<void> {
  try {
    await action;
  } catch (error) {
    if (!hasCode(error, 404)) throw error;
  }
}

/**
 * The API server's own message (its `Status.message`) where it sent one,
 * else the error's.
 */
export function apiMessage(error: unknown): string {
  const { code, body } = (error ?? {}) as { code?: number; body?: unknown };
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      status = undefined;
    }
  }
  const message = (status as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && message) {
    return code ? `${message} (HTTP ${code})` : message;
  }
  if (code) return `HTTP ${code}`;
  return error instanceof Error ? error.message : String(error);
}

/** An {@link ExecutorError} saying what failed and the cluster's reason. */
export function kubernetesError(
  error: unknown,
  kind: ExecutorError['kind'],
  what: string,
): ExecutorError {
  if (error instanceof ExecutorError) return error;
  return new ExecutorError(`${what}: ${apiMessage(error)}`, kind);
}
