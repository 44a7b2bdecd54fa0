import { InputError } from '@backstage/errors';
import express, { ErrorRequestHandler } from 'express';

/** The most a request body may weigh. */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * JSON body parsing with refusals that say what is wrong: a body over the
 * limit is a 413, malformed JSON a 400 naming the body.
 */
export function jsonBody(): [express.RequestHandler, ErrorRequestHandler] {
  const explain: ErrorRequestHandler = (error, _req, _res, next) => {
    if (error?.type === 'entity.too.large') {
      error.message = `body: larger than the ${
        MAX_BODY_BYTES / 1024
      } KiB limit`;
      next(error);
    } else if (error?.type === 'entity.parse.failed') {
      next(new InputError(`body: not valid JSON (${error.message})`));
    } else {
      next(error);
    }
  };
  return [express.json({ limit: MAX_BODY_BYTES }), explain];
}
