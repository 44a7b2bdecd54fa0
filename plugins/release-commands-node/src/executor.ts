import { createExtensionPoint } from '@backstage/backend-plugin-api';

/**
 * Labels that identify the throwaway workload of one step, so that a reaper
 * can find what belongs to runs that are no longer alive, and never touch
 * anything else.
 *
 * @public
 */
export type StepWorkloadLabels = {
  runId: string;
  entityRef: string;
  step: number;
  /** The backend instance that owns the run. */
  instanceId: string;
  /** After this instant the workload is garbage whatever the database says. */
  expiresAt: Date;
};

/**
 * The keys under which an executor marks a step's workload with its
 * {@link StepWorkloadLabels} (as labels, or annotations where a value cannot
 * be a label), and `managed: true`, so that its leftover reaper finds what
 * belongs to runs and never touches anything else.
 *
 * @public
 */
export const STEP_WORKLOAD_KEYS = {
  managed: 'org.release-commands.managed',
  run: 'org.release-commands.run',
  entity: 'org.release-commands.entity',
  step: 'org.release-commands.step',
  instance: 'org.release-commands.instance',
  expiresAt: 'org.release-commands.expires-at',
} as const;

/**
 * The image a run's steps start from, as the executor resolved it once
 * before the first step, so that a tag moved meanwhile (a push, a pull, a
 * re-tag on the engine) cannot change what later steps run.
 *
 * @public
 */
export type PreparedImage = {
  /**
   * What each step of the run receives as {@link StepRequest.image}: a
   * reference that cannot move, such as the Docker image id or
   * `registry.example.com/shop@sha256:...`.
   */
  reference: string;
  /** The image id (the digest of its configuration, `sha256:...`), when the executor knows it. */
  id?: string;
  /** The repository digest the registry serves it by (`name@sha256:...`), when known. */
  digest?: string;
  /**
   * The image's labels (its configuration's `Labels`), where the run reads
   * the commands the image declares. Undefined when the executor cannot
   * read them: the run then says that an image's declared commands are not
   * run by this executor.
   */
  labels?: Record<string, string>;
};

/**
 * Everything an executor needs to run one step.
 *
 * @public
 */
export type StepRequest = {
  /**
   * The image to start: the {@link PreparedImage.reference} that
   * `prepareImage` returned, or the reference as asked when it returned
   * nothing.
   */
  image: string;
  /** The argv to run; `/bin/sh -c ...` for shell commands. */
  argv: string[];
  /** Includes `RELEASE_COMMAND=1`; values may be secrets and must not be logged. */
  env: Record<string, string>;
  /**
   * Where the image is being deployed (`production`, `default`, ...), for
   * settings that differ per environment, such as the network.
   */
  environment?: string;
  labels: StepWorkloadLabels;
  /**
   * Whether the command gets a pseudo-terminal; undefined leaves it to the
   * executor's configuration. With one, the output is a single stream in the
   * order it was written, line-buffered by most runtimes, reported as
   * `stdout` with line ends as `\n`; without one, stdout and stderr are told
   * apart but their relative order is lost, and many runtimes hold output
   * back until their buffer fills or they exit.
   */
  tty?: boolean;
  /**
   * Called with the command's output as it arrives: in order per stream,
   * and in the order written across both when the step has a terminal.
   *
   * When it returns a promise, the executor reads no more of the output
   * until it settles: a consumer that needs a pause slows the command's
   * writes down (they block, as on a full pipe) rather than have its output
   * buffered.
   */
  onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void | Promise<void>;
  /** Called once the workload exists, with an id for logs and reaping. */
  onStarted?(workloadId: string): void;
  /**
   * Aborted when the step must stop (timeout or cancel): the executor asks the
   * command to stop (SIGTERM), waits the grace period, then kills it.
   */
  signal: AbortSignal;
};

/**
 * How a step ended, as far as the executor can tell. Timeouts and cancels
 * are decided by the caller, which aborted the signal.
 *
 * @public
 */
export type StepResult = {
  exitCode: number;
  oomKilled: boolean;
  workloadId: string;
};

/**
 * Thrown by executors for a failure a person can act on (image not found,
 * engine unreachable, ...): the message becomes the run's reason.
 *
 * @public
 */
export class ExecutorError extends Error {
  /** Always `ExecutorError`, so the error can be told apart after serialisation. */
  name = 'ExecutorError';

  constructor(
    message: string,
    /**
     * `image`: the image could not be made available. `engine`: the engine
     * failed or stopped answering. `command`: the command could not start.
     */
    readonly kind: 'image' | 'engine' | 'command',
  ) {
    super(message);
  }
}

/**
 * Runs release commands in throwaway workloads. The default implementation
 * runs Docker containers; others (Kubernetes Jobs, ...) plug in through
 * {@link releaseCommandsExecutorExtensionPoint}.
 *
 * @public
 */
export interface ReleaseCommandExecutor {
  /** A short name for logs, e.g. `docker (unix:///var/run/docker.sock)`. */
  readonly description: string;

  /**
   * Makes the image available (pulling per policy), writing progress lines
   * through `log`, and resolves it once for the whole run: every step then
   * runs the returned {@link PreparedImage.reference}, and the run records
   * its id and digest. An executor that resolves nothing returns nothing,
   * and each step gets the reference as asked. Throws {@link ExecutorError}
   * with the registry's message.
   */
  prepareImage(options: {
    image: string;
    log(line: string): void;
    signal: AbortSignal;
  }): Promise<PreparedImage | void>;

  /** Runs one step in a fresh workload and removes the workload afterwards. */
  runStep(request: StepRequest): Promise<StepResult>;

  /**
   * Removes leftover workloads carrying our labels whose run is no longer
   * alive (as `isAlive` says) or whose expiry has passed. Returns their ids.
   */
  removeLeftovers(options: {
    isAlive(runId: string): Promise<boolean>;
  }): Promise<string[]>;

  /**
   * Called once a run has ended, whatever its outcome, after its last step:
   * the executor releases what it kept for the run (such as a Secret
   * holding its env). Optional; a failure is logged and never changes the
   * run's outcome, and `removeLeftovers` is the fallback for runs whose
   * backend stopped before this call.
   */
  endRun?(runId: string): Promise<void>;
}

/**
 * Lets a backend module replace the Docker executor.
 *
 * @public
 */
export interface ReleaseCommandsExecutorExtensionPoint {
  /**
   * Runs every step with this executor instead of Docker. Only one module
   * may set an executor.
   */
  setExecutor(executor: ReleaseCommandExecutor): void;
}

/**
 * The extension point of the release-commands backend plugin for executors:
 * a module that depends on it can replace the Docker executor.
 *
 * @public
 */
export const releaseCommandsExecutorExtensionPoint =
  createExtensionPoint<ReleaseCommandsExecutorExtensionPoint>({
    id: 'release-commands.executor',
  });
