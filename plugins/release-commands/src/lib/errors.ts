import { ResponseError } from '@backstage/errors';

/** The HTTP status of a refused request, if it was one. */
export function responseStatus(error: unknown): number | undefined {
  return ResponseError.is(error) ? error.statusCode : undefined;
}

/**
 * The sentence to show a person: the server's own message for a refused
 * request (it names the field at fault), or the error's message.
 */
export function errorMessage(error: unknown): string {
  if (ResponseError.is(error)) {
    return error.body.error.message || error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
