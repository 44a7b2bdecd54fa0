import { LoggerService } from '@backstage/backend-plugin-api';
import { InputError, ResponseError } from '@backstage/errors';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long a step waits, by default, for the catalog to ingest an entity
 * that an earlier step registered: ingestion usually takes seconds, but a
 * busy catalog's processing loop can take minutes.
 */
export const DEFAULT_WAIT_FOR_ENTITY_SECONDS = 300;

/** Longer than this, a task would hold a worker for a registration that failed. */
export const MAX_WAIT_FOR_ENTITY_SECONDS = 3600;

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;

/** The `waitForEntitySeconds` input of both actions. */
export const waitForEntitySecondsDescription =
  'How long to wait, in seconds, for the entity to appear in the catalog when it is not there yet ' +
  `(a template that registers it just before); 0 does not wait. Default ${DEFAULT_WAIT_FOR_ENTITY_SECONDS}, ` +
  `at most ${MAX_WAIT_FOR_ENTITY_SECONDS}`;

/** Validates `waitForEntitySeconds`; unset is the default. */
export function parseWaitForEntitySeconds(value: unknown): number {
  if (value === undefined) {
    return DEFAULT_WAIT_FOR_ENTITY_SECONDS;
  }
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value > MAX_WAIT_FOR_ENTITY_SECONDS
  ) {
    throw new InputError(
      `waitForEntitySeconds must be a whole number of seconds from 0 to ${MAX_WAIT_FOR_ENTITY_SECONDS} (0: do not wait), got ${JSON.stringify(
        value,
      )}`,
    );
  }
  return value;
}

/**
 * The backend's refusal for an entity the catalog does not know (or does
 * not show the caller). Other 404s (no such run, an unmounted plugin) are
 * not worth waiting for.
 */
export function isNotInCatalog(error: unknown): boolean {
  if (!ResponseError.is(error) || error.statusCode !== 404) {
    return false;
  }
  const body = error.body?.error;
  return (
    body?.name === 'NotFoundError' &&
    typeof body.message === 'string' &&
    body.message.includes('is not in the catalog')
  );
}

/**
 * Makes `request`, the step's first call for the entity, and makes it
 * again, backing off from 1 s to 10 s, while the backend answers that the
 * entity is not in the catalog: a template usually registers the entity one
 * step earlier, and the catalog ingests it seconds to minutes later. The
 * wait ends when the entity answers, not after a fixed time; it gives up
 * after `waitSeconds`, or when the task is cancelled.
 *
 * The request must write nothing when refused that way, so that making it
 * again is safe (the backend checks the catalog before anything else).
 */
export async function untilEntityKnown<T>(options: {
  entityRef: string;
  waitSeconds: number;
  logger: Pick<LoggerService, 'info'>;
  signal?: AbortSignal;
  /** What the step leaves undone when it gives up, e.g. "no run was started". */
  notDone: string;
  request: () => Promise<T>;
  /** The step's error for any other failure of the request. */
  otherError: (error: unknown) => Error;
}): Promise<T> {
  const { entityRef, waitSeconds, logger, signal, notDone } = options;
  const startedAt = Date.now();
  const deadline = startedAt + waitSeconds * 1000;
  let retryMs = FIRST_RETRY_MS;
  let waited = false;
  for (;;) {
    try {
      const result = await options.request();
      if (waited) {
        logger.info(
          `${entityRef} is in the catalog now, after ${seconds(
            Date.now() - startedAt,
          )} s`,
        );
      }
      return result;
    } catch (error) {
      if (!isNotInCatalog(error)) {
        throw options.otherError(error);
      }
    }

    if (waitSeconds === 0) {
      throw new Error(
        `${entityRef} is not in the catalog (or not visible to you), so ${notDone}: release commands are kept and run ` +
          'only for entities the catalog knows. Register it in an earlier step (catalog:register), and let this step ' +
          'wait for the catalog to ingest it with waitForEntitySeconds (0 here: no waiting).',
      );
    }
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      throw new Error(
        `${entityRef} is still not in the catalog (or not visible to you) after waiting ${waitSeconds} s, so ${notDone}. ` +
          'Check that an earlier step registered it (catalog:register) under exactly this kind, namespace and name, ' +
          "that the catalog processed its catalog-info.yaml without errors (the location's processing errors), " +
          'and that the user who started the task may see it; if the catalog is only slow, raise waitForEntitySeconds.',
      );
    }
    if (!waited) {
      waited = true;
      logger.info(
        `Waiting for the catalog to ingest ${entityRef} (registered by an earlier step?) for up to ${waitSeconds} s: ` +
          'release commands are kept and run only for entities the catalog knows',
      );
    }
    try {
      await sleep(Math.min(retryMs, remainingMs), undefined, { signal });
    } catch (error) {
      if (!signal?.aborted) throw error;
    }
    if (signal?.aborted) {
      throw new Error(
        `The task was cancelled while waiting for the catalog to ingest ${entityRef}; ${notDone}`,
      );
    }
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
