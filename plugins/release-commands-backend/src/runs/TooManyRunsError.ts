import { CustomErrorBase } from '@backstage/errors';

/**
 * A run refused because a configured limit on runs waiting to start is
 * reached; the message names the limit. Answered with 429: trying again once
 * some runs have started can succeed.
 */
export class TooManyRunsError extends CustomErrorBase {
  name = 'TooManyRunsError' as const;
  /** Read by the backend's error handler. */
  readonly statusCode = 429;
}
