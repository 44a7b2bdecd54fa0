import {
  describeError,
  formatDuration,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import { setTimeout as delay } from 'node:timers/promises';

/** What dockerode adds to errors when the engine answered with a status. */
type DockerApiError = Error & {
  statusCode: number;
  json?: { message?: string } | null;
};

/** How the executor's parts bear with an engine that fails or stalls. */
export type EngineTolerance = {
  /** How long one short request (inspect, kill, remove, list) may go unanswered. */
  callTimeoutMs: number;
  /** Failures in a row of a request that is safe to repeat before giving up. */
  attempts: number;
  /** The pause after the first failure; it doubles after each further one. */
  retryDelayMs: number;
};

export const DEFAULT_ENGINE_TOLERANCE: EngineTolerance = {
  callTimeoutMs: 10_000,
  attempts: 3,
  retryDelayMs: 500,
};

/**
 * The Docker engine as the executor's parts share it: the client, the name
 * messages give it, how long its requests may take and how often one is
 * tried, and how its failures become {@link ExecutorError}s.
 */
export class DockerEngine {
  readonly tolerance: EngineTolerance;

  constructor(
    readonly docker: Docker,
    /** How messages name it, e.g. `unix:///var/run/docker.sock`. */
    readonly description: string,
    tolerance: Partial<EngineTolerance> = {},
  ) {
    this.tolerance = { ...DEFAULT_ENGINE_TOLERANCE, ...tolerance };
  }

  /**
   * One request, given up on when the engine leaves it unanswered for the
   * call timeout: `request` gets a signal to hand to dockerode, aborted
   * then (some dockerode calls take none, so the wait ends regardless).
   * Once answered, a streamed response (attach, events) lives on.
   */
  async call<T>(request: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const { callTimeoutMs } = this.tolerance;
    const unanswered = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        unanswered.abort();
        reject(new Error(`no answer within ${formatDuration(callTimeoutMs)}`));
      }, callTimeoutMs);
    });
    try {
      return await Promise.race([request(unanswered.signal), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A request that is safe to repeat, tried until it succeeds, the engine
   * answers with a refusal (a 4xx status, such as 404 for a container that
   * is gone), or it failed `attempts` times in a row: one lost connection or
   * slow answer is not the engine failing.
   */
  async retry<T>(
    request: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { attempts, retryDelayMs } = this.tolerance;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call(request);
      } catch (error) {
        if (attempt >= attempts || isRefusal(error)) throw error;
        await delay(retryDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Errors the engine answered carry its message after `context`; anything
   * else means the engine could not be reached at all.
   */
  error(
    error: unknown,
    kind: ExecutorError['kind'],
    context: string,
  ): ExecutorError {
    if (!isDockerApiError(error)) {
      return new ExecutorError(
        `The Docker engine at ${
          this.description
        } is unreachable: ${describeError(error)}`,
        'engine',
      );
    }
    return new ExecutorError(`${context}: ${engineMessage(error)}`, kind);
  }

  /** Removes a container and its output, whatever state it is in. */
  async removeContainer(container: Docker.Container) {
    // 409: someone else is already removing it. `v` takes the anonymous
    // volumes of an image's VOLUME paths along, with what the command wrote
    // there; named volumes are never mounted, so none is touched.
    await unlessGone(
      this.retry(abortSignal =>
        container.remove({ force: true, v: true, abortSignal }),
      ),
    );
  }
}

export function hasStatus(error: unknown, status: number): boolean {
  return isDockerApiError(error) && error.statusCode === status;
}

/** Settles `action`, ignoring that the container is gone (404) or busy (409). */
export async function unlessGone(action: Promise<unknown>) {
  try {
    await action;
  } catch (error) {
    if (!hasStatus(error, 404) && !hasStatus(error, 409)) throw error;
  }
}

/** The engine answered and refused: asking again gets the same answer. */
export function isRefusal(error: unknown): boolean {
  return (
    isDockerApiError(error) && error.statusCode >= 400 && error.statusCode < 500
  );
}

function isDockerApiError(error: unknown): error is DockerApiError {
  return (
    error instanceof Error &&
    typeof (error as Partial<DockerApiError>).statusCode === 'number'
  );
}

/** The engine's own words, without dockerode's `(HTTP code 404) ... - ` prefix. */
function engineMessage(error: DockerApiError): string {
  return (
    error.json?.message ??
    error.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim()
  );
}
