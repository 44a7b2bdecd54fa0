import { ResponseError } from '@backstage/errors';

/** The HTTP status of a refused request, if it was one. */
export function responseStatus(error: unknown): number | undefined {
  return ResponseError.is(error) ? error.statusCode : undefined;
}
