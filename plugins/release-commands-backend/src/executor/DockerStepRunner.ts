import {
  ExecutorError,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import { attachStepOutput, StepOutput } from './attachStepOutput';
import { containerLabels } from './containerLabels';
import { DockerEngine, hasStatus, unlessGone } from './DockerEngine';
import { oomEventAfterExit } from './oomEventAfterExit';
import { DockerExecutorOptions } from './readDockerExecutorOptions';
import { ContainerExit, waitForContainerExit } from './waitForContainerExit';

/**
 * An engine that died may never end the attach stream: after the exit, the
 * output is read until it ends or nothing more comes for this long.
 */
const OUTPUT_IDLE_TIMEOUT_MS = 2000;

/** Exit code of a process killed by SIGKILL, as the kernel does for OOM. */
const KILLED = 137;

export type DockerStepOptions = Pick<
  DockerExecutorOptions,
  | 'memoryBytes'
  | 'cpus'
  | 'pidsLimit'
  | 'networkMode'
  | 'environmentNetworkModes'
  | 'init'
  | 'stopGracePeriodSeconds'
  | 'tty'
  | 'capAdd'
  | 'user'
  | 'readOnlyRootFilesystem'
  | 'tmpBytes'
> & {
  /** How long after an unexplained exit 137 the engine's `oom` event may come. */
  oomEventGraceMs?: number;
  /** How often a running step checks that the engine still answers. */
  engineCheckIntervalMs?: number;
};

/**
 * Stops the container once the step's signal aborts, while `during` waits
 * for it to exit. A stop that fails would leave that wait on a running
 * container, so its failure ends the wait too.
 */
class StopOnAbort {
  /** Whether the container is being stopped (or was). */
  started = false;

  constructor(
    private readonly signal: AbortSignal,
    /** Stops the container; `exited` settles once it has. */
    private readonly stop: (exited: Promise<unknown>) => Promise<void>,
  ) {}

  async during<T>(exited: Promise<T>): Promise<T> {
    const { signal } = this;
    let stop = () => {};
    const stopFailed = new Promise<never>((_, reject) => {
      stop = () => {
        this.started = true;
        this.stop(exited).catch(reject);
      };
    });
    if (signal.aborted) {
      stop();
    } else {
      signal.addEventListener('abort', stop, { once: true });
    }
    try {
      return await Promise.race([exited, stopFailed]);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }
}

/**
 * Runs one step in a fresh container: created with the step's labels and
 * limits, attached before it starts, stopped when the step's signal aborts
 * (SIGTERM, then SIGKILL after the grace period), and removed afterwards.
 * An engine that fails now and then is borne with: a request that is safe
 * to repeat is tried again, and a running step ends for the engine only
 * after several failed checks in a row.
 */
export class DockerStepRunner {
  constructor(
    private readonly engine: DockerEngine,
    private readonly options: DockerStepOptions,
  ) {}

  async runStep(request: StepRequest): Promise<StepResult> {
    const tty = request.tty ?? this.options.tty;
    const container = await this.createContainer(request, tty);
    try {
      return await this.run(container, request, tty);
    } finally {
      await this.engine.removeContainer(container).catch(() => {
        // The engine is failing, which the step's own error already says;
        // the container keeps its labels, so removeLeftovers reaps it later.
      });
    }
  }

  private async createContainer(
    request: StepRequest,
    tty: boolean,
  ): Promise<Docker.Container> {
    const { memoryBytes, cpus, pidsLimit, init } = this.options;
    const { capAdd, user, readOnlyRootFilesystem, tmpBytes } = this.options;
    try {
      // Not repeated on failure: a create whose answer was lost may have
      // made a container, which then carries labels for the reaper.
      return await this.engine.call(abortSignal =>
        this.engine.docker.createContainer({
          Image: request.image,
          // Both set, so that the image's ENTRYPOINT never wraps the command.
          Entrypoint: [request.argv[0]],
          Cmd: request.argv.slice(1),
          Env: Object.entries(request.env).map(
            ([key, value]) => `${key}=${value}`,
          ),
          // Unset, the image's own USER.
          User: user,
          Tty: tty,
          // With a terminal, stdin is that terminal; attached so that the
          // command can be told no input comes.
          OpenStdin: tty,
          AttachStdin: tty,
          AttachStdout: true,
          AttachStderr: true,
          Labels: containerLabels(request.labels),
          HostConfig: {
            Memory: memoryBytes ?? undefined,
            MemorySwap: memoryBytes ?? undefined,
            NanoCpus: cpus === undefined ? undefined : Math.round(cpus * 1e9),
            PidsLimit: pidsLimit,
            NetworkMode: this.networkModeFor(request.environment),
            Init: init,
            Privileged: false,
            // Root in the container is then root without its powers, and no
            // setuid program can give any back.
            CapDrop: ['ALL'],
            CapAdd: capAdd,
            SecurityOpt: ['no-new-privileges'],
            ReadonlyRootfs: readOnlyRootFilesystem,
            Tmpfs: readOnlyRootFilesystem
              ? { '/tmp': `rw,nosuid,nodev,size=${tmpBytes}` }
              : undefined,
            // The output is read from the attach stream and kept, masked, in
            // the run's log: the engine's own copy would cost it a second
            // write of every byte and hold the unmasked text on its disk.
            LogConfig: { Type: 'none', Config: {} },
          },
          abortSignal,
        }),
      );
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
    tty: boolean,
  ): Promise<StepResult> {
    // Attached before start, or the first lines would be lost.
    const output = await attachStepOutput(this.engine, container, {
      tty,
      onOutput: request.onOutput,
      executable: request.argv[0],
    });
    try {
      request.onStarted?.(container.id);
      await this.start(container, request);
      const stop = new StopOnAbort(request.signal, exited =>
        this.stop(container, exited),
      );
      let exit: ContainerExit;
      try {
        exit = await stop.during(
          waitForContainerExit(this.engine, container, {
            checkIntervalMs: this.options.engineCheckIntervalMs,
          }),
        );
      } catch (error) {
        throw this.engine.error(
          error,
          'engine',
          'Waiting for the container failed',
        );
      }
      await output.drained(OUTPUT_IDLE_TIMEOUT_MS);
      return await this.result(container, request, output, {
        exit,
        stoppedByUs: stop.started,
      });
    } finally {
      output.close();
    }
  }

  private async start(container: Docker.Container, request: StepRequest) {
    try {
      await this.engine.retry(abortSignal =>
        // 304: an earlier attempt started it, though its answer was lost.
        unlessStatus(304, container.start({ abortSignal })),
      );
    } catch (error) {
      throw this.engine.error(
        error,
        'command',
        `Could not start ${request.argv[0]}`,
      );
    }
  }

  /** How the container ended, from its state, or the wait's answer when the engine no longer tells. */
  private async result(
    container: Docker.Container,
    request: StepRequest,
    output: StepOutput,
    ended: { exit: ContainerExit; stoppedByUs: boolean },
  ): Promise<StepResult> {
    let state: Docker.ContainerInspectInfo['State'] | undefined;
    try {
      state = (
        await this.engine.retry(abortSignal =>
          container.inspect({ abortSignal }),
        )
      ).State;
    } catch (error) {
      if (ended.exit.statusCode === undefined) {
        throw this.engine.error(
          error,
          'engine',
          'Inspecting the container failed',
        );
      }
    }
    const exitCode = state?.ExitCode ?? ended.exit.statusCode!;
    const execFailure =
      this.options.init && exitCode !== 0
        ? initExecFailure(output.head(), request.argv[0])
        : undefined;
    if (execFailure) {
      throw new ExecutorError(
        `Could not start ${request.argv[0]}: ${execFailure}`,
        'command',
      );
    }
    return {
      exitCode,
      oomKilled: await this.outOfMemory(container, state, ended.stoppedByUs),
      workloadId: container.id,
    };
  }

  /** The environment's own network, or the one for all. */
  private networkModeFor(environment: string | undefined): string | undefined {
    const own = this.options.environmentNetworkModes;
    return environment !== undefined && Object.hasOwn(own, environment)
      ? own[environment]
      : this.options.networkMode;
  }

  /**
   * Whether the kernel killed the command at the memory limit, as far as
   * the engine tells: its state says so when it learnt of the kill before
   * the exit, and its `oom` event when it learnt of it after.
   */
  private async outOfMemory(
    container: Docker.Container,
    state: Docker.ContainerInspectInfo['State'] | undefined,
    stoppedByUs: boolean,
  ): Promise<boolean> {
    if (!state) return false;
    if (state.OOMKilled) return true;
    // Only a killed command under a memory limit can have been, and one
    // this step stopped was killed by its stop.
    if (
      state.ExitCode !== KILLED ||
      this.options.memoryBytes === null ||
      stoppedByUs
    ) {
      return false;
    }
    return oomEventAfterExit(
      this.engine,
      container,
      state,
      this.options.oomEventGraceMs,
    );
  }

  /** SIGTERM, then SIGKILL when the command outlives the grace period. */
  private async stop(container: Docker.Container, exited: Promise<unknown>) {
    await this.kill(container, 'SIGTERM');
    const graceMs = this.options.stopGracePeriodSeconds * 1000;
    if (!(await settlesWithin(exited, graceMs))) {
      await this.kill(container, 'SIGKILL');
    }
  }

  private async kill(container: Docker.Container, signal: string) {
    // 409: the container is not running (any more).
    await unlessGone(
      this.engine.retry(abortSignal => container.kill({ signal, abortSignal })),
    );
  }
}

/**
 * With `Init`, an init process starts the command, so the engine accepts the
 * start of a missing executable and the init reports it on stderr instead:
 * docker-init (tini) on Docker, catatonit on Podman, which does not name the
 * executable.
 */
function initExecFailure(
  stderrHead: string,
  executable: string,
): string | undefined {
  const tini = /^\[FATAL tini \(\d+\)\] (exec .* failed: [^\r\n]*)/.exec(
    stderrHead,
  );
  if (tini) return tini[1];
  const catatonit =
    /^ERROR \(catatonit:\d+\): failed to exec pid1: ([^\r\n]*)/.exec(
      stderrHead,
    );
  return catatonit ? `exec ${executable} failed: ${catatonit[1]}` : undefined;
}

/** Settles `action`, taking the engine's `status` answer for success. */
async function unlessStatus(status: number, action: Promise<unknown>) {
  try {
    await action;
  } catch (error) {
    if (!hasStatus(error, status)) throw error;
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
