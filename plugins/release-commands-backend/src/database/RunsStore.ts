import {
  ReleaseCommandRun,
  ReleaseCommandRunPage,
  RunStatus,
  RunTrigger,
  StepStatus,
} from '@release-commands/backstage-plugin-release-commands-common';

/** A run to create, with the commands it snapshots. */
export type NewRun = {
  id: string;
  entityRef: string;
  environment: string;
  image: string;
  trigger: RunTrigger;
  triggeredBy: string;
  envKeys: string[];
  ownerInstance: string;
  steps: Array<{
    label: string;
    command: string;
    timeoutSeconds: number;
  }>;
};

/** A page of runs as stored; the API adds how long runs are kept. */
export type StoredRunPage = Omit<ReleaseCommandRunPage, 'retentionSeconds'>;

/** How a step ended. */
export type StepOutcome = {
  status: Exclude<StepStatus, 'pending' | 'running'>;
  exitCode: number | null;
  oomKilled: boolean;
};

/** What a cancel request did. */
export type CancelOutcome =
  /** The run had not started: it is cancelled now. */
  | { kind: 'cancelled'; run: ReleaseCommandRun }
  /** The run is running: its owner stops it. */
  | { kind: 'requested'; run: ReleaseCommandRun }
  /** The run had already ended. */
  | { kind: 'final'; run: ReleaseCommandRun };

/**
 * Where runs and their steps live (their logs are in `RunLogStore`). Every state change names the
 * state it expects, so a run that another replica already ended (for
 * example, interrupted after a missed heartbeat) is never overwritten.
 */
export interface RunsStore {
  /**
   * Creates a queued run with its steps. Throws ConflictError naming the
   * active run when the entity already has one in that environment.
   */
  createRun(run: NewRun): Promise<ReleaseCommandRun>;

  getRun(id: string): Promise<ReleaseCommandRun | undefined>;

  listRuns(
    entityRef: string,
    options: { limit: number; cursor?: string },
  ): Promise<StoredRunPage>;

  /**
   * Moves the oldest queued runs of this instance to `running`, as many as
   * the global cap leaves room for across all instances.
   */
  claimQueuedRuns(options: {
    instanceId: string;
    maxRunning: number;
  }): Promise<ReleaseCommandRun[]>;

  /** Marks a step running; false when the run is no longer running. */
  startStep(runId: string, position: number): Promise<boolean>;

  setStepWorkload(
    runId: string,
    position: number,
    workloadId: string,
  ): Promise<void>;

  finishStep(
    runId: string,
    position: number,
    outcome: StepOutcome,
  ): Promise<void>;

  /**
   * Ends an active run: pending steps become skipped and the entity's lock is
   * released. False when the run had already ended.
   */
  finishRun(
    runId: string,
    outcome: {
      status: Exclude<RunStatus, 'queued' | 'running'>;
      reason: string | null;
    },
  ): Promise<boolean>;

  requestCancel(
    runId: string,
    actor: string,
  ): Promise<CancelOutcome | undefined>;

  /**
   * Records that this instance is alive for its active runs. Returns the ids
   * among `runIds` that were asked to cancel or are no longer active.
   */
  heartbeat(
    instanceId: string,
    runIds: string[],
  ): Promise<{ cancelRequested: string[]; ended: string[] }>;

  /** The instances that own queued or running runs. */
  activeRunOwners(): Promise<string[]>;

  /**
   * Ends as `interrupted` every active run whose owner has not heart-beaten
   * since `staleBefore` or is known to be gone, and returns them.
   */
  interruptStaleRuns(
    staleBefore: Date,
    goneOwners?: string[],
  ): Promise<ReleaseCommandRun[]>;

  /**
   * Whether a run's workloads must be kept: unknown runs are not ours to
   * judge (another installation may share the engine) and count as alive.
   */
  isRunAlive(runId: string, staleBefore: Date): Promise<boolean>;

  /**
   * The ids of runs that ended before `endedBefore`, at most `limit`, the
   * longest ended first. Queued and running runs are never among them,
   * whatever their age.
   */
  listRunsEndedBefore(endedBefore: Date, limit: number): Promise<string[]>;

  /**
   * Deletes ended runs with their steps (and any log chunks still left) and
   * returns how many were deleted. An active run among `runIds` is kept.
   */
  deleteEndedRuns(runIds: string[]): Promise<number>;
}
