import {
  ReleaseCommandRun,
  ReleaseCommandRunPage,
  RunStatus,
  RunStep,
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
  /** The revision of the entity's list the steps were taken from. */
  commandsRevision?: number;
  steps: NewStep[];
  /**
   * Set for a run that fails before step 1 (a declaration of its commands
   * cannot be used): it is stored ended, failed with this reason, its steps
   * skipped, without taking the entity's lock or counting as queued.
   */
  failure?: string;
};

/** A step as a run snapshots it; without a source, it is recorded as unknown. */
export type NewStep = Pick<RunStep, 'label' | 'command' | 'timeoutSeconds'> &
  Partial<Pick<RunStep, 'source' | 'declaredIn'>>;

/** A page of runs as stored; the API adds how long runs are kept. */
export type StoredRunPage = Omit<ReleaseCommandRunPage, 'retentionSeconds'>;

/** Runs queued now, across every replica. */
export type QueuedCounts = {
  /** Of the run's entity, in any environment. */
  entity: number;
  /** Triggered by the run's actor. */
  actor: number;
};

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
   * `checkQueue` is given, under the same lock as the insert, how many runs
   * of the entity and of the actor are queued now; whatever it throws
   * refuses the run, with nothing written.
   */
  createRun(
    run: NewRun,
    options?: { checkQueue?(queued: QueuedCounts): void },
  ): Promise<ReleaseCommandRun>;

  /**
   * Why a run of the entity in that environment would be refused now (the
   * run that holds its lock, as `createRun`'s ConflictError says), or
   * undefined when none holds it. Reads only.
   */
  describeLock(
    entityRef: string,
    environment: string,
  ): Promise<string | undefined>;

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

  /**
   * Records the image a running run's steps run, as the executor resolved
   * it: its id and repository digest, null where it resolved none.
   */
  setRunImage(
    runId: string,
    image: { id: string | null; digest: string | null },
  ): Promise<void>;

  /**
   * Replaces the steps of a running run none of whose steps has started
   * (the image's declared commands join when it is resolved). False, with
   * nothing changed, when the run is no longer running or a step started.
   */
  replacePendingSteps(runId: string, steps: NewStep[]): Promise<boolean>;

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
   * Records, on the database's clock, that this instance is alive for its
   * active runs. Returns the ids among `runIds` that were asked to cancel or
   * are no longer active.
   */
  heartbeat(
    instanceId: string,
    runIds: string[],
  ): Promise<{ cancelRequested: string[]; ended: string[] }>;

  /** The instances that own queued or running runs. */
  activeRunOwners(): Promise<string[]>;

  /**
   * Ends as `interrupted` every active run whose owner has not heart-beaten
   * for `staleAfterMs` (on the database's clock) or is known to be gone, and
   * returns them. A run interrupted during a step keeps its entity's lock
   * (see `releaseEndedLocks`), at the latest until the step's timeout plus
   * `workloadGraceMs` has passed since it started.
   */
  interruptStaleRuns(options: {
    staleAfterMs: number;
    goneOwners?: string[];
    /** An instance whose runs are left alone (the caller's own). */
    exceptOwner?: string;
    workloadGraceMs: number;
  }): Promise<ReleaseCommandRun[]>;

  /**
   * Releases the entity locks still held by ended runs: all of them once
   * their leftover workloads are known to be removed, else (`expiredOnly`)
   * those whose time is up. Returns the runs released.
   */
  releaseEndedLocks(options: { expiredOnly: boolean }): Promise<string[]>;

  /**
   * Whether a run's workloads must be kept: unknown runs are not ours to
   * judge (another installation may share the engine) and count as alive.
   */
  isRunAlive(runId: string, staleAfterMs: number): Promise<boolean>;

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
