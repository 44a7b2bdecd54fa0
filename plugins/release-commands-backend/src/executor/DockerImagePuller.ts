import { formatDuration } from '@release-commands/backstage-plugin-release-commands-common';
import {
  ExecutorError,
  PreparedImage,
} from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import { DockerEngine, hasStatus } from './DockerEngine';
import {
  DockerExecutorOptions,
  findRegistryCredentials,
} from './readDockerExecutorOptions';

type PullEvent = {
  id?: string;
  status?: string;
  progressDetail?: { current?: number };
  error?: string;
};

/**
 * Makes a run's image available on the engine, per the pull policy, and
 * resolves it to the image id that every step then starts from: a tag that
 * moves during the run (a push and a pull, a re-tag on the engine) changes
 * nothing for it.
 */
export class DockerImagePuller {
  constructor(
    private readonly engine: DockerEngine,
    private readonly options: Pick<
      DockerExecutorOptions,
      'pullPolicy' | 'registries' | 'pullTimeoutMs'
    >,
  ) {}

  async prepareImage(options: {
    image: string;
    log(line: string): void;
    signal: AbortSignal;
  }): Promise<PreparedImage> {
    const { image, log, signal } = options;
    const policy = this.options.pullPolicy;
    let present = policy === 'always' ? undefined : await this.inspect(image);
    if (present) {
      log(`Image ${image} is present on the engine`);
    } else if (policy === 'never') {
      throw new ExecutorError(
        `Image ${image} is not present on the Docker engine and the pull policy is "never"; build or load it there first`,
        'image',
      );
    } else {
      await this.pull(image, log, signal);
      present = await this.inspect(image);
      if (!present) {
        throw new ExecutorError(
          `Image ${image} was pulled but the Docker engine does not have it`,
          'image',
        );
      }
    }
    return {
      reference: present.Id,
      id: present.Id,
      digest: repositoryDigest(image, present.RepoDigests ?? []),
      labels: present.Config?.Labels ?? {},
    };
  }

  /** The image as the engine has it, or undefined when it has none. */
  private async inspect(
    image: string,
  ): Promise<Docker.ImageInspectInfo | undefined> {
    try {
      // Dockerode takes no signal here; the timeout ends the wait alone.
      return await this.engine.retry(() =>
        this.engine.docker.getImage(image).inspect(),
      );
    } catch (error) {
      if (hasStatus(error, 404)) return undefined;
      throw this.engine.error(
        error,
        'engine',
        `Inspecting image ${image} failed`,
      );
    }
  }

  private async pull(
    image: string,
    log: (line: string) => void,
    signal: AbortSignal,
  ) {
    log(`Pulling ${image} ...`);
    const { pullTimeoutMs } = this.options;
    const timeout = AbortSignal.timeout(pullTimeoutMs);
    const timedOut = () =>
      new ExecutorError(
        `Pulling ${image} did not finish within ${formatDuration(
          pullTimeoutMs,
        )} (releaseCommands.docker.pullTimeoutSeconds)`,
        'image',
      );
    const credentials = findRegistryCredentials(this.options.registries, image);
    let failure: string | undefined;
    try {
      const progress = await this.engine.docker.pull(image, {
        abortSignal: AbortSignal.any([signal, timeout]),
        authconfig: credentials && {
          username: credentials.username,
          password: credentials.password,
          serveraddress: credentials.host,
        },
      });
      failure = await this.followPull(progress, log);
    } catch (error) {
      if (signal.aborted) throw error;
      if (timeout.aborted) throw timedOut();
      throw this.engine.error(error, 'image', `Pulling ${image} failed`);
    }
    // An aborted pull may end its progress stream without an error event.
    signal.throwIfAborted();
    if (timeout.aborted) throw timedOut();
    if (failure) {
      throw new ExecutorError(`Pulling ${image} failed: ${failure}`, 'image');
    }
    log(`Pulled ${image}`);
  }

  /** Resolves with the registry's error, if any; rejects when the connection breaks. */
  private followPull(
    progress: NodeJS.ReadableStream,
    log: (line: string) => void,
  ): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.engine.docker.modem.followProgress(
        progress,
        (error: Error | null, events: PullEvent[]) =>
          error
            ? reject(error)
            : resolve(events.find(event => event.error)?.error),
        (event: PullEvent) => {
          // Byte counts would flood the log; the status changes are enough.
          if (event.status && !event.progressDetail?.current) {
            log(event.id ? `${event.id}: ${event.status}` : event.status);
          }
        },
      );
    });
  }
}

/**
 * The digest the registry serves the image by, for the repository `image`
 * names (`registry.example.com/shop@sha256:...`): the reference's own
 * digest when it has one, else the engine's record of it for that
 * repository, which it keeps for pulled images. None for an image built or
 * loaded on the engine.
 */
function repositoryDigest(
  image: string,
  repoDigests: string[],
): string | undefined {
  const [name, digest] = image.split('@');
  const repository = name.replace(/:[^:/]+$/, '');
  if (digest) return `${repository}@${digest}`;
  const familiar = familiarName(repository);
  return repoDigests.find(
    recorded => familiarName(recorded.split('@')[0]) === familiar,
  );
}

/** `busybox` for `docker.io/library/busybox`, as the engine names them. */
function familiarName(repository: string): string {
  return repository
    .replace(/^(?:docker\.io|index\.docker\.io)\//, '')
    .replace(/^library\//, '');
}
