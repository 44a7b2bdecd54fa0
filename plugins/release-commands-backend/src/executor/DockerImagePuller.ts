import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';
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

/** Makes a run's image available on the engine, per the pull policy. */
export class DockerImagePuller {
  constructor(
    private readonly engine: DockerEngine,
    private readonly options: Pick<
      DockerExecutorOptions,
      'pullPolicy' | 'registries'
    >,
  ) {}

  async prepareImage(options: {
    image: string;
    log(line: string): void;
    signal: AbortSignal;
  }): Promise<void> {
    const { image, log, signal } = options;
    const policy = this.options.pullPolicy;
    if (policy !== 'always' && (await this.isPresent(image))) {
      log(`Image ${image} is present on the engine`);
      return;
    }
    if (policy === 'never') {
      throw new ExecutorError(
        `Image ${image} is not present on the Docker engine and the pull policy is "never"; build or load it there first`,
        'image',
      );
    }
    await this.pull(image, log, signal);
  }

  private async isPresent(image: string): Promise<boolean> {
    try {
      await this.engine.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (hasStatus(error, 404)) return false;
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
    const credentials = findRegistryCredentials(this.options.registries, image);
    let failure: string | undefined;
    try {
      const progress = await this.engine.docker.pull(image, {
        abortSignal: signal,
        authconfig: credentials && {
          username: credentials.username,
          password: credentials.password,
          serveraddress: credentials.host,
        },
      });
      failure = await this.followPull(progress, log);
    } catch (error) {
      if (signal.aborted) throw error;
      throw this.engine.error(error, 'image', `Pulling ${image} failed`);
    }
    // An aborted pull may end its progress stream without an error event.
    signal.throwIfAborted();
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
