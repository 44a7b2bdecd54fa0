import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  CommandDeclaration,
  ReleaseCommandRun,
  RUN_LOG_HEADING,
  RunTrigger,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ReleaseCommandExecutor } from '@release-commands/backstage-plugin-release-commands-node';
import { randomUUID } from 'node:crypto';
import { ReleaseCommandsStore } from '../database/ReleaseCommandsStore';
import { RunLogStore } from '../database/RunLogStore';
import { NewRun, RunsStore } from '../database/RunsStore';
import { stepsInRunOrder } from '../declarations/declaredSteps';
import { ActiveRuns } from './ActiveRuns';
import { createInstanceId, releaseInstanceId } from './instanceIdentity';
import { continueRunLog } from './openRunLog';
import { OutputPacer } from './OutputPacer';
import { RunEvents } from './RunEvents';
import { RunExecution, RunExecutionContext } from './RunExecution';
import { CheckedPlan, RunCheck } from './RunCheck';
import { RunLeases } from './RunLeases';
import { RunQueue } from './RunQueue';
import { RunSettings } from './RunSettings';
import { retryStoreWrite } from './storeRetries';
import { TooManyRunsError } from './TooManyRunsError';
import { closingLine, failedVerdict, recordedVerdict } from './verdicts';

const NOT_STARTED_AT_SHUTDOWN =
  'The backend shut down before this run started; no command ran. Run the release commands again.';

export type RunOrchestratorOptions = {
  runsStore: RunsStore;
  logStore: RunLogStore;
  commandsStore: ReleaseCommandsStore;
  executor: ReleaseCommandExecutor;
  logger: LoggerService;
  events: RunEvents;
  settings: RunSettings;
  /** Told once a run has ended (the owners' notifications). */
  onRunEnded?: (runId: string) => void;
};

/**
 * Runs deploys' release commands. It accepts and cancels runs, and wires the
 * parts that do the work: the queue (claims under the global cap), the
 * leases (heartbeat and recovery), and each run's execution.
 *
 * Secrets passed as `env` live only in this process's memory, which is why a
 * run is executed by the instance that accepted it.
 */
export class RunOrchestrator {
  readonly instanceId = createInstanceId();
  private readonly active = new ActiveRuns();
  private readonly queue: RunQueue;
  private readonly leases: RunLeases;
  private readonly checks: RunCheck;
  private readonly context: RunExecutionContext;
  /** Aborted when store writes stop being retried, late in `stop()`. */
  private readonly giveUp = new AbortController();
  private stopping = false;

  constructor(private readonly options: RunOrchestratorOptions) {
    const { settings } = options;
    this.context = {
      runsStore: options.runsStore,
      logStore: options.logStore,
      executor: options.executor,
      events: options.events,
      logger: options.logger,
      settings,
      logCapBytes: settings.logCapBytes,
      instanceId: this.instanceId,
      giveUp: this.giveUp.signal,
      pacer: new OutputPacer({ maxLagMs: settings.outputMaxLoopLagMs }),
      runEnded: runId => options.onRunEnded?.(runId),
    };
    this.queue = new RunQueue({
      runsStore: options.runsStore,
      instanceId: this.instanceId,
      maxConcurrentRuns: settings.maxConcurrentRuns,
      maxHeldSecretBytes: settings.maxHeldSecretBytes,
      logger: options.logger,
      onClaimed: (run, env) => this.launch(run, env),
    });
    this.checks = new RunCheck({
      commandsStore: options.commandsStore,
      runsStore: options.runsStore,
      executor: options.executor,
      settings,
      instanceId: this.instanceId,
    });
    this.leases = new RunLeases({
      ...this.context,
      active: this.active,
      queue: this.queue,
    });
  }

  /** Recovers what earlier instances left, then starts the periodic work. */
  async start(): Promise<void> {
    await this.leases.start();
  }

  /**
   * Stops taking work and interrupts this instance's runs: their commands
   * are stopped and their containers removed, and each run says why. A
   * claim in flight is waited for, and what it claimed is not started.
   * Store writes are retried for the stop grace period and ten seconds
   * more; what is not written by then is left to recovery.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.close();
    const grace = setTimeout(
      () => this.giveUp.abort(),
      this.options.settings.stopGracePeriodMs + 10_000,
    );
    try {
      await this.queue.claiming;
      this.leases.stop();
      this.active.stopAll({ kind: 'shutdown' });
      await this.active.settled();
      for (const runId of this.queue.release()) {
        await this.endUnstarted(runId).catch(error =>
          this.options.logger.warn(
            `Could not record that release command run ${runId} was not started: ${error}`,
          ),
        );
      }
    } finally {
      clearTimeout(grace);
      this.giveUp.abort();
      this.context.pacer.stop();
      releaseInstanceId(this.instanceId);
    }
  }

  private async endUnstarted(runId: string): Promise<void> {
    const ended = await retryStoreWrite(
      () =>
        this.options.runsStore.finishRun(runId, {
          status: 'interrupted',
          reason: NOT_STARTED_AT_SHUTDOWN,
        }),
      { signal: this.giveUp.signal },
    );
    if (ended) this.context.runEnded(runId);
  }

  /**
   * Queues a run of the entity's enabled commands on an image. Throws
   * ConflictError when the entity has an active run in that environment.
   */
  async createRun(request: {
    entityRef: string;
    image: string;
    env: Record<string, string>;
    environment: string;
    trigger: RunTrigger;
    actor: string;
    /** What the entity's repository declares; one with a problem fails the run. */
    declaration?: CommandDeclaration;
  }): Promise<ReleaseCommandRun> {
    if (this.stopping) {
      throw new ServiceUnavailableError(
        'This backend instance is shutting down; try again',
      );
    }
    const { settings } = this.options;
    const list = await this.options.commandsStore.getCommands(
      request.entityRef,
    );
    const { declaration } = request;
    const steps = stepsInRunOrder(
      list.commands,
      declaration,
      settings.defaultTimeoutSeconds,
    );
    const id = randomUUID();
    const newRun = {
      id,
      entityRef: request.entityRef,
      environment: request.environment,
      image: request.image,
      trigger: request.trigger,
      triggeredBy: request.actor,
      envKeys: Object.keys(request.env).sort(),
      ownerInstance: this.instanceId,
      commandsRevision: list.revision,
      steps,
    };
    if (declaration?.problem) {
      return this.failBeforeStart(newRun, declaration.problem);
    }
    // Held before the run is stored: from the insert on, any claim (another
    // deploy's, a finishing run's, the heartbeat's) may start it.
    this.queue.hold(id, request.env);
    let run: ReleaseCommandRun;
    try {
      run = await this.options.runsStore.createRun(newRun, {
        checkQueue: queued => checkQueueLimits(settings, request, queued),
      });
    } catch (error) {
      this.queue.drop(id);
      throw error;
    }
    this.queue.stored(id);
    this.queue.schedule();
    return run;
  }

  /**
   * Stores a run that fails before step 1, with its log: it never queues,
   * holds no secret and takes no lock, so nothing of it can start.
   */
  private async failBeforeStart(
    newRun: NewRun,
    problem: string,
  ): Promise<ReleaseCommandRun> {
    const reason = `${problem} No command ran.`;
    const run = await this.options.runsStore.createRun({
      ...newRun,
      failure: reason,
    });
    const log = await continueRunLog(this.context, run.id);
    log.system(RUN_LOG_HEADING);
    log.system(closingLine(failedVerdict(reason)));
    await log.close();
    this.options.events.notify(run.id);
    this.context.runEnded(run.id);
    return run;
  }

  /**
   * Checks a run of the entity's enabled commands on an image without
   * running it: see {@link RunCheck}.
   */
  async checkRun(request: {
    entityRef: string;
    image: string;
    env: Record<string, string>;
    environment: string;
    declaration?: CommandDeclaration;
  }): Promise<CheckedPlan> {
    if (this.stopping) {
      throw new ServiceUnavailableError(
        'This backend instance is shutting down; try again',
      );
    }
    return this.checks.check(request);
  }

  /** Cancels a run; throws NotFoundError for an unknown one. */
  async cancel(runId: string, actor: string): Promise<ReleaseCommandRun> {
    const outcome = await this.options.runsStore.requestCancel(runId, actor);
    if (!outcome) {
      throw new NotFoundError(`No run ${runId}`);
    }
    if (outcome.kind === 'final') {
      throw new ConflictError(
        `Run ${runId} already ended (${outcome.run.status}); there is nothing to cancel`,
      );
    }
    if (outcome.kind === 'cancelled') {
      this.queue.drop(runId);
      const log = await continueRunLog(this.context, runId);
      log.system(RUN_LOG_HEADING);
      log.system(closingLine(recordedVerdict('cancelled', outcome.run.reason)));
      await log.close();
      this.options.events.notify(runId);
      this.context.runEnded(runId);
    }
    this.active.stop(runId, { kind: 'cancel', actor });
    return outcome.run;
  }

  /** The variables this instance holds for runs that have not started. */
  get heldSecrets(): { runs: number; bytes: number } {
    return this.queue.held;
  }

  /** Resolves when every run this instance has started has ended. */
  async idle(): Promise<void> {
    while (this.active.size > 0 || this.queue.claiming) {
      await Promise.allSettled([this.active.settled(), this.queue.claiming]);
      // Let timers and I/O in before looking again.
      await new Promise(resolve => setImmediate(resolve));
    }
  }

  private launch(
    run: ReleaseCommandRun,
    env: Record<string, string> | undefined,
  ) {
    if (this.stopping) {
      // Claimed by a claim that was in flight when `stop()` began.
      this.active.start(
        run.id,
        async () => {
          await this.endUnstarted(run.id).catch(() => {});
        },
        () => {},
      );
      return;
    }
    this.active.start(
      run.id,
      signal => this.execute(run, env, signal),
      () => this.queue.schedule(),
    );
  }

  private async execute(
    run: ReleaseCommandRun,
    env: Record<string, string> | undefined,
    signal: AbortSignal,
  ) {
    try {
      await new RunExecution(this.context, run, env, signal).execute();
    } catch (error) {
      this.options.logger.error(
        `Release command run ${run.id} of ${run.entityRef} failed unexpectedly: ${error}`,
      );
    }
  }
}

/** Refuses a run past the limits on queued runs, naming the limit. */
function checkQueueLimits(
  settings: RunSettings,
  request: { entityRef: string; actor: string },
  queued: { entity: number; actor: number },
) {
  if (queued.entity >= settings.maxQueuedPerEntity) {
    throw new TooManyRunsError(
      `${request.entityRef} already has ${queued.entity} runs queued, the most allowed (releaseCommands.runs.maxQueuedPerEntity); try again once some have started`,
    );
  }
  if (queued.actor >= settings.maxQueuedPerActor) {
    throw new TooManyRunsError(
      `${request.actor} already has ${queued.actor} runs queued, the most allowed (releaseCommands.runs.maxQueuedPerActor); try again once some have started`,
    );
  }
}
