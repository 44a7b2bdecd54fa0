import {
  ExecutorError,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { containerLabels } from './containerLabels';
import { DockerEngine, hasStatus, unlessGone } from './DockerEngine';
import { DockerExecutorOptions } from './readDockerExecutorOptions';

/** An engine that died may never end the attach stream. */
const OUTPUT_DRAIN_TIMEOUT_MS = 2000;

/** How often a running step checks that the engine still answers. */
const ENGINE_CHECK_INTERVAL_MS = 2000;

export type DockerStepOptions = Pick<
  DockerExecutorOptions,
  | 'memoryBytes'
  | 'cpus'
  | 'pidsLimit'
  | 'networkMode'
  | 'init'
  | 'stopGracePeriodSeconds'
>;

/**
 * Runs one step in a fresh container: created with the step's labels and
 * limits, attached before it starts, stopped when the step's signal aborts
 * (SIGTERM, then SIGKILL after the grace period), and removed afterwards.
 */
export class DockerStepRunner {
  constructor(
    private readonly engine: DockerEngine,
    private readonly options: DockerStepOptions,
  ) {}

  async runStep(request: StepRequest): Promise<StepResult> {
    const container = await this.createContainer(request);
    try {
      return await this.run(container, request);
    } finally {
      await this.engine.removeContainer(container).catch(() => {
        // The engine is failing, which the step's own error already says;
        // the container keeps its labels, so removeLeftovers reaps it later.
      });
    }
  }

  private async createContainer(
    request: StepRequest,
  ): Promise<Docker.Container> {
    const { memoryBytes, cpus, pidsLimit, networkMode, init } = this.options;
    try {
      return await this.engine.docker.createContainer({
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
        Labels: containerLabels(request.labels),
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
      throw this.engine.error(
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
        throw this.engine.error(
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
        throw this.engine.error(
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
      throw this.engine.error(
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
    this.engine.docker.modem.demuxStream(
      stream,
      sink('stdout'),
      sink('stderr'),
    );
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
      throw this.engine.error(
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
}

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
