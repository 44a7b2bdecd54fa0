import { ResponseError } from '@backstage/errors';

/**
 * What went wrong, in the error's own words, for a message to a person: the
 * server's sentence for a refused request (it names the field at fault or the
 * conflicting run), an error's message with the network failure that `fetch`
 * hides in its cause (`fetch failed: ECONNREFUSED`), or the value as text.
 *
 * @public
 */
export function describeError(error: unknown): string {
  if (ResponseError.is(error)) {
    return error.body?.error?.message || error.message;
  }
  const { message, cause } = (error ?? {}) as {
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  };
  const text = typeof message === 'string' ? message : String(error);
  const detail = cause?.code ?? cause?.message;
  return typeof detail === 'string' && detail && !text.includes(detail)
    ? `${text}: ${detail}`
    : text;
}
