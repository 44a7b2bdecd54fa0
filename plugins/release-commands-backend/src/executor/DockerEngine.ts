import { describeError } from '@release-commands/backstage-plugin-release-commands-common';
import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';

/** What dockerode adds to errors when the engine answered with a status. */
type DockerApiError = Error & {
  statusCode: number;
  json?: { message?: string } | null;
};

/**
 * The Docker engine as the executor's parts share it: the client, the name
 * messages give it, and how its failures become {@link ExecutorError}s.
 */
export class DockerEngine {
  constructor(
    readonly docker: Docker,
    /** e.g. `docker (unix:///var/run/docker.sock)`. */
    readonly description: string,
  ) {}

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
    // 409: someone else is already removing it.
    await unlessGone(container.remove({ force: true }));
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
