import { Config } from '@backstage/config';
import { describeError } from '@release-commands/backstage-plugin-release-commands-common';
import {
  ExecutorError,
  ReleaseCommandExecutor,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createDockerClient,
  describeDockerHost,
} from '../docker/createDockerClient';
import {
  DockerExecutorOptions,
  findRegistryCredentials,
  readDockerExecutorOptions,
} from './readDockerExecutorOptions';

const DEFAULT_OPTIONS: DockerExecutorOptions = {
  pullPolicy: 'if-not-present',
  registries: [],
  pidsLimit: 1024,
  stopGracePeriodSeconds: 10,
  init: true,
};

const LABEL = {
  managed: 'org.release-commands.managed',
  run: 'org.release-commands.run',
  entity: 'org.release-commands.entity',
  step: 'org.release-commands.step',
  instance: 'org.release-commands.instance',
  expiresAt: 'org.release-commands.expires-at',
};

/** An engine that died may never end the attach stream. */
const OUTPUT_DRAIN_TIMEOUT_MS = 2000;

/** How often a running step checks that the engine still answers. */
const ENGINE_CHECK_INTERVAL_MS = 2000;

/** What dockerode adds to errors when the engine answered with a status. */
type DockerApiError = Error & {
  statusCode: number;
  json?: { message?: string } | null;
};

/**
 * Runs each step in a fresh container on a Docker engine, and removes it
 * afterwards.
 */
export class DockerExecutor implements ReleaseCommandExecutor {
  readonly description: string;
  private readonly docker: Docker;
  private readonly options: DockerExecutorOptions;

  static fromConfig(config: Config): DockerExecutor {
    return new DockerExecutor({
      docker: createDockerClient(config),
      description: `docker (${describeDockerHost(config)})`,
      options: readDockerExecutorOptions(config),
    });
  }

  constructor(args: {
    docker: Docker;
    description: string;
    options?: Partial<DockerExecutorOptions>;
  }) {
    this.docker = args.docker;
    this.description = args.description;
    this.options = { ...DEFAULT_OPTIONS, ...args.options };
  }

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

  async runStep(request: StepRequest): Promise<StepResult> {
    const container = await this.createContainer(request);
    try {
      return await this.run(container, request);
    } finally {
      await this.remove(container).catch(() => {
        // The engine is failing, which the step's own error already says;
        // the container keeps its labels, so removeLeftovers reaps it later.
      });
    }
  }

  async removeLeftovers(options: {
    isAlive(runId: string): Promise<boolean>;
  }): Promise<string[]> {
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.managed}=true`] },
      });
    } catch (error) {
      throw this.executorError(error, 'engine', 'Listing containers failed');
    }
    const removed: string[] = [];
    for (const info of containers) {
      // An unparseable expiry counts as passed: the container is ours anyway.
      const expired = !(Date.parse(info.Labels[LABEL.expiresAt]) > Date.now());
      const runId = info.Labels[LABEL.run];
      if (expired || !runId || !(await options.isAlive(runId))) {
        try {
          await this.remove(this.docker.getContainer(info.Id));
        } catch (error) {
          throw this.executorError(
            error,
            'engine',
            `Removing container ${info.Id} failed`,
          );
        }
        removed.push(info.Id);
      }
    }
    return removed;
  }

  private async isPresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (hasStatus(error, 404)) return false;
      throw this.executorError(
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
      const progress = await this.docker.pull(image, {
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
      throw this.executorError(error, 'image', `Pulling ${image} failed`);
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
      this.docker.modem.followProgress(
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

  private async createContainer(
    request: StepRequest,
  ): Promise<Docker.Container> {
    const { labels } = request;
    const { memoryBytes, cpus, pidsLimit, networkMode, init } = this.options;
    try {
      return await this.docker.createContainer({
        Image: request.image,
        // Both set, so that the image's ENTRYPOINT never wraps the command.
        Entrypoint: [request.argv[0]],
        Cmd: request.argv.slice(1),
        Env: Object.entries(request.env).map(
          ([key, value]) => `${key}=${value}`,
        ),
        Tty: false,
        OpenStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Labels: {
          [LABEL.managed]: 'true',
          [LABEL.run]: labels.runId,
          [LABEL.entity]: labels.entityRef,
          [LABEL.step]: String(labels.step),
          [LABEL.instance]: labels.instanceId,
          [LABEL.expiresAt]: labels.expiresAt.toISOString(),
        },
        HostConfig: {
          Memory: memoryBytes,
          MemorySwap: memoryBytes,
          NanoCpus: cpus === undefined ? undefined : Math.round(cpus * 1e9),
          PidsLimit: pidsLimit,
          NetworkMode: networkMode,
          Init: init,
          Privileged: false,
          SecurityOpt: ['no-new-privileges'],
        },
      });
    } catch (error) {
      throw this.executorError(
        error,
        hasStatus(error, 404) ? 'image' : 'engine',
        `Creating a container from ${request.image} failed`,
      );
    }
  }

  private async run(
    container: Docker.Container,
    request: StepRequest,
  ): Promise<StepResult> {
    // Attached before start, or the first lines would be lost.
    const output = await this.attachOutput(container, request);
    try {
      request.onStarted?.(container.id);
      try {
        await container.start();
      } catch (error) {
        throw this.executorError(
          error,
          'command',
          `Could not start ${request.argv[0]}`,
        );
      }
      await this.waitForExit(container, request.signal);
      await settlesWithin(output.ended, OUTPUT_DRAIN_TIMEOUT_MS);

      let state: Docker.ContainerInspectInfo['State'];
      try {
        state = (await container.inspect()).State;
      } catch (error) {
        throw this.executorError(
          error,
          'engine',
          'Inspecting the container failed',
        );
      }
      const execFailure =
        this.options.init && state.ExitCode !== 0
          ? initExecFailure(output.stderrHead())
          : undefined;
      if (execFailure) {
        throw new ExecutorError(
          `Could not start ${request.argv[0]}: ${execFailure}`,
          'command',
        );
      }
      return {
        exitCode: state.ExitCode,
        oomKilled: state.OOMKilled,
        workloadId: container.id,
      };
    } finally {
      output.close();
    }
  }

  private async attachOutput(
    container: Docker.Container,
    request: StepRequest,
  ) {
    let stream: Readable;
    try {
      stream = (await container.attach({
        stream: true,
        stdout: true,
        stderr: true,
      })) as unknown as Readable;
    } catch (error) {
      throw this.executorError(
        error,
        'engine',
        'Attaching to the container failed',
      );
    }
    let stderrHead = '';
    const sink = (name: 'stdout' | 'stderr') =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          if (name === 'stderr' && stderrHead.length < 1024) {
            stderrHead += chunk.toString();
          }
          request.onOutput(name, chunk);
          done();
        },
      });
    // A broken connection is reported by wait(); here it only ends the output.
    const ended = new Promise<void>(resolve => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    this.docker.modem.demuxStream(stream, sink('stdout'), sink('stderr'));
    return {
      ended,
      stderrHead: () => stderrHead,
      close: () => stream.destroy(),
    };
  }

  /** Waits for the container to exit, stopping it once `signal` aborts. */
  private async waitForExit(container: Docker.Container, signal: AbortSignal) {
    const watchdog = new AbortController();
    const exited = Promise.race([
      container.wait(),
      pollUntilStopped(container, watchdog.signal),
    ]);
    let stop = () => {};
    // A stop that fails would leave wait() hanging on a running container.
    const stopFailed = new Promise<never>((_, reject) => {
      stop = () => void this.stop(container, exited).catch(reject);
    });
    if (signal.aborted) {
      stop();
    } else {
      signal.addEventListener('abort', stop, { once: true });
    }
    try {
      await Promise.race([exited, stopFailed]);
    } catch (error) {
      throw this.executorError(
        error,
        'engine',
        'Waiting for the container failed',
      );
    } finally {
      signal.removeEventListener('abort', stop);
      watchdog.abort();
    }
  }

  /** SIGTERM, then SIGKILL when the command outlives the grace period. */
  private async stop(container: Docker.Container, exited: Promise<unknown>) {
    await killIfRunning(container, 'SIGTERM');
    const graceMs = this.options.stopGracePeriodSeconds * 1000;
    if (!(await settlesWithin(exited, graceMs))) {
      await killIfRunning(container, 'SIGKILL');
    }
  }

  private async remove(container: Docker.Container) {
    // 409: someone else is already removing it.
    await unlessGone(container.remove({ force: true }));
  }

  /**
   * Errors the engine answered carry its message after `context`; anything
   * else means the engine could not be reached at all.
   */
  private executorError(
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
}

type PullEvent = {
  id?: string;
  status?: string;
  progressDetail?: { current?: number };
  error?: string;
};

/**
 * With `Init`, docker-init (tini) starts the command, so the engine accepts
 * the start of a missing executable and tini reports it on stderr instead.
 */
function initExecFailure(stderrHead: string): string | undefined {
  return /^\[FATAL tini \(\d+\)\] (exec .* failed: [^\n]*)/.exec(
    stderrHead,
  )?.[1];
}

/**
 * Dockerode's wait() never settles when the connection drops after the engine
 * sent the response headers (it does so at once), as on an engine restart or
 * a network failure to a remote engine. Asking now and then notices both.
 */
async function pollUntilStopped(
  container: Docker.Container,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    // Aborted once wait() has answered: the delay rejects, the loop ends.
    await delay(ENGINE_CHECK_INTERVAL_MS, undefined, { signal }).catch(
      () => {},
    );
    if (signal.aborted) return;
    const { State } = await container.inspect();
    if (!State.Running) return;
  }
}

async function killIfRunning(container: Docker.Container, signal: string) {
  // 409: the container is not running (any more).
  await unlessGone(container.kill({ signal }));
}

/** Settles `action`, ignoring that the container is gone (404) or busy (409). */
async function unlessGone(action: Promise<unknown>) {
  try {
    await action;
  } catch (error) {
    if (!hasStatus(error, 404) && !hasStatus(error, 409)) throw error;
  }
}

/** True when `promise` settles within `ms`, false when time runs out first. */
async function settlesWithin(promise: Promise<unknown>, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>(resolve => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isDockerApiError(error: unknown): error is DockerApiError {
  return (
    error instanceof Error &&
    typeof (error as Partial<DockerApiError>).statusCode === 'number'
  );
}

function hasStatus(error: unknown, status: number): boolean {
  return isDockerApiError(error) && error.statusCode === status;
}

/** The engine's own words, without dockerode's `(HTTP code 404) ... - ` prefix. */
function engineMessage(error: DockerApiError): string {
  return (
    error.json?.message ??
    error.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim()
  );
}
