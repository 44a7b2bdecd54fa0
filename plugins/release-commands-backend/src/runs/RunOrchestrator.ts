import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  commandArgv,
  describeError,
  formatBytes,
  formatDuration,
  plural,
  RELEASE_COMMAND_ENV_VAR,
  ReleaseCommandRun,
  RUN_LOG_HEADING,
  RunStatus,
  RunStep,
  RunTrigger,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  ExecutorError,
  ReleaseCommandExecutor,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import { randomUUID } from 'node:crypto';
import { ReleaseCommandsStore } from '../database/ReleaseCommandsStore';
import { RunLogStore } from '../database/RunLogStore';
import { RunsStore, StepOutcome } from '../database/RunsStore';
import {
  createInstanceId,
  isInstanceGone,
  releaseInstanceId,
} from './instanceIdentity';
import { RunEvents } from './RunEvents';
import { RunLog } from './RunLog';
import { RunSettings } from './RunSettings';
import { SecretMasker } from './SecretMasker';

/** Why a run was stopped from outside its own steps. */
type StopReason =
  | { kind: 'cancel'; actor: string }
  | { kind: 'shutdown' }
  /** Another instance ended it (it missed heartbeats). */
  | { kind: 'ended' };

type ActiveRun = {
  controller: AbortController;
  done: Promise<void>;
};

type FinalStatus = Exclude<RunStatus, 'queued' | 'running'>;

/** How a run ended, for its record and its log's last line. */
type Verdict = { status: FinalStatus; reason: string | null; line: string };

// Exit codes above 128 of a shell-less process: 128 + the signal that
// killed it.
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  9: 'SIGKILL',
  15: 'SIGTERM',
};

export type RunOrchestratorOptions = {
  runsStore: RunsStore;
  logStore: RunLogStore;
  commandsStore: ReleaseCommandsStore;
  executor: ReleaseCommandExecutor;
  logger: LoggerService;
  events: RunEvents;
  settings: RunSettings;
};

/**
 * Runs deploys' release commands: queues runs under a global cap, executes
 * their steps one after another through the executor, keeps their state and
 * logs in the store, heart-beats for them so other replicas can tell a dead
 * run from a live one, and recovers runs whose owner stopped.
 *
 * Secrets passed as `env` live only in this process's memory, which is why a
 * run is executed by the instance that accepted it.
 */
export class RunOrchestrator {
  readonly instanceId = createInstanceId();
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly timers: NodeJS.Timeout[] = [];
  private scheduling: Promise<void> | undefined;
  private scheduleAgain = false;
  private stopping = false;

  constructor(private readonly options: RunOrchestratorOptions) {}

  /** Recovers what earlier instances left, then starts the periodic work. */
  async start(): Promise<void> {
    await this.recover();
    const { heartbeatIntervalMs, recoveryIntervalMs } = this.options.settings;
    this.every(heartbeatIntervalMs, () => this.heartbeat());
    this.every(recoveryIntervalMs, () => this.recover());
  }

  /**
   * Stops taking work and interrupts this instance's runs: their commands
   * are stopped and their containers removed, and each run says why.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timers.forEach(clearInterval);
    for (const run of this.active.values()) {
      run.controller.abort({ kind: 'shutdown' } satisfies StopReason);
    }
    await Promise.allSettled([...this.active.values()].map(r => r.done));
    for (const runId of this.secrets.keys()) {
      await this.options.runsStore.finishRun(runId, {
        status: 'interrupted',
        reason:
          'The backend shut down before this run started; no command ran. Run the release commands again.',
      });
    }
    this.secrets.clear();
    releaseInstanceId(this.instanceId);
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
    const run = await this.options.runsStore.createRun({
      id: randomUUID(),
      entityRef: request.entityRef,
      environment: request.environment,
      image: request.image,
      trigger: request.trigger,
      triggeredBy: request.actor,
      envKeys: Object.keys(request.env).sort(),
      ownerInstance: this.instanceId,
      steps: list.commands
        .filter(command => command.enabled)
        .map(command => ({
          label: command.label,
          command: command.command,
          timeoutSeconds:
            command.timeoutSeconds ?? settings.defaultTimeoutSeconds,
        })),
    });
    this.secrets.set(run.id, request.env);
    this.schedule();
    return run;
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
      this.secrets.delete(runId);
      const log = this.openLog(runId, await this.nextLogSeq(runId));
      log.system(RUN_LOG_HEADING);
      log.system(
        `Release commands cancelled: ${outcome.run.reason} The deployment must not proceed.`,
      );
      await log.close();
      this.options.events.notify(runId);
    }
    this.active
      .get(runId)
      ?.controller.abort({ kind: 'cancel', actor } satisfies StopReason);
    return outcome.run;
  }

  /** Resolves when every run this instance has started has ended. */
  async idle(): Promise<void> {
    while (this.active.size > 0 || this.scheduling) {
      await Promise.allSettled([
        ...[...this.active.values()].map(r => r.done),
        this.scheduling,
      ]);
      // Let timers and I/O in before looking again.
      await new Promise(resolve => setImmediate(resolve));
    }
  }

  private every(ms: number, task: () => Promise<void>) {
    let running = false;
    const timer = setInterval(async () => {
      if (running || this.stopping) return;
      running = true;
      try {
        await task();
      } finally {
        running = false;
      }
    }, ms);
    timer.unref?.();
    this.timers.push(timer);
  }

  /** Claims queued runs while the cap leaves room; coalesces calls. */
  private schedule() {
    if (this.scheduling) {
      this.scheduleAgain = true;
      return;
    }
    this.scheduling = (async () => {
      // Yield first, so `scheduling` is set before the `finally` below clears it.
      await Promise.resolve();
      try {
        do {
          this.scheduleAgain = false;
          if (this.stopping || this.secrets.size === 0) break;
          const claimed = await this.options.runsStore.claimQueuedRuns({
            instanceId: this.instanceId,
            maxRunning: this.options.settings.maxConcurrentRuns,
          });
          claimed.forEach(run => this.launch(run));
        } while (this.scheduleAgain);
      } catch (error) {
        this.options.logger.error(
          `Could not start queued release command runs: ${error}`,
        );
      } finally {
        this.scheduling = undefined;
      }
    })();
  }

  private launch(run: ReleaseCommandRun) {
    const controller = new AbortController();
    const env = this.secrets.get(run.id) ?? {};
    this.secrets.delete(run.id);
    const done = this.execute(run, env, controller.signal)
      .catch(error =>
        this.options.logger.error(
          `Release command run ${run.id} of ${run.entityRef} failed unexpectedly: ${error}`,
        ),
      )
      .finally(() => {
        this.active.delete(run.id);
        this.schedule();
      });
    this.active.set(run.id, { controller, done });
  }

  private async execute(
    run: ReleaseCommandRun,
    env: Record<string, string>,
    signal: AbortSignal,
  ): Promise<void> {
    const { executor, runsStore } = this.options;
    const masker = new SecretMasker(Object.values(env));
    const log = this.openLog(run.id, 0, masker);
    const total = run.steps.length;
    const startedAt = Date.now();

    log.system(RUN_LOG_HEADING);
    log.system(
      `${plural(total, 'release command')} of ${run.entityRef} on ${
        run.image
      } (environment ${run.environment}, triggered by ${run.triggeredBy}, ${
        executor.description
      })`,
    );
    if (run.envKeys.length > 0) {
      log.system(
        `Variables: ${run.envKeys.join(', ')} (values are masked in this log${
          masker.unmaskedCount > 0
            ? `, except ${plural(masker.unmaskedCount, 'value')} shorter than ${
                SecretMasker.minSecretLength
              } characters`
            : ''
        })`,
      );
    }

    const verdict = await this.runSteps(run, env, signal, log, masker);
    for (const step of run.steps.slice(verdict.skippedFrom)) {
      log.system(`${stepPrefix(step, total)} skipped`, step.position);
    }
    if (log.cutBytes > 0) {
      log.system(
        `This log was capped at ${formatBytes(
          this.options.settings.logCapBytes,
        )}: ${formatBytes(log.cutBytes)} of command output were cut.`,
      );
    }
    log.system(
      verdict.status === 'succeeded'
        ? verdict.line
        : `${verdict.line} ${verdict.reason} The deployment must not proceed.`,
    );
    // The log is complete before the run reads as ended, so a follower that
    // sees the end has every line.
    await log.close();
    const ended = await runsStore.finishRun(run.id, {
      status: verdict.status,
      reason: verdict.reason,
    });
    if (!ended) {
      this.options.logger.warn(
        `Release command run ${run.id} of ${run.entityRef} had already been ended elsewhere before it finished as ${verdict.status}`,
      );
    }
    this.options.events.notify(run.id);
    this.options.logger.info(
      `Release command run ${run.id} of ${run.entityRef} on ${run.image}: ${
        verdict.status
      } after ${formatDuration(Date.now() - startedAt)}`,
    );
  }

  /** Runs the steps in order; stops at the first that does not pass. */
  private async runSteps(
    run: ReleaseCommandRun,
    env: Record<string, string>,
    signal: AbortSignal,
    log: RunLog,
    masker: SecretMasker,
  ): Promise<Verdict & { skippedFrom: number }> {
    const { executor, runsStore } = this.options;
    const total = run.steps.length;
    const startedAt = Date.now();
    if (total === 0) {
      return {
        status: 'succeeded',
        reason: null,
        line: `No release commands are configured for ${run.entityRef}: nothing to run. The deployment may proceed.`,
        skippedFrom: 0,
      };
    }

    try {
      await executor.prepareImage({
        image: run.image,
        log: line => log.system(line),
        signal,
      });
    } catch (error) {
      return {
        ...(signal.aborted
          ? stoppedVerdict(signal.reason, undefined)
          : failedVerdict(describeAsSentence(error))),
        skippedFrom: 0,
      };
    }

    for (const step of run.steps) {
      if (signal.aborted) {
        return {
          ...stoppedVerdict(signal.reason, undefined),
          skippedFrom: step.position,
        };
      }
      if (!(await runsStore.startStep(run.id, step.position))) {
        return {
          ...stoppedVerdict({ kind: 'ended' }, undefined),
          skippedFrom: step.position,
        };
      }
      const verdict = await this.runStep(run, step, env, signal, log, masker);
      if (verdict) {
        return { ...verdict, skippedFrom: step.position + 1 };
      }
    }
    return {
      status: 'succeeded',
      reason: null,
      line: `Release commands passed: ${plural(
        total,
        'command',
      )} succeeded in ${formatDuration(
        Date.now() - startedAt,
      )}. The deployment may proceed.`,
      skippedFrom: total,
    };
  }

  /** Runs one step; returns the run's verdict when the step did not pass. */
  private async runStep(
    run: ReleaseCommandRun,
    step: RunStep,
    env: Record<string, string>,
    signal: AbortSignal,
    log: RunLog,
    masker: SecretMasker,
  ): Promise<Verdict | undefined> {
    const { executor, runsStore, settings } = this.options;
    const prefix = stepPrefix(step, run.steps.length);
    log.system(`${prefix}: ${step.command}`, step.position);

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), step.timeoutSeconds * 1000);
    const startedAt = Date.now();
    let result: StepResult | undefined;
    let failure: unknown;
    try {
      result = await executor.runStep({
        image: run.image,
        argv: commandArgv(step.command),
        env: { ...env, [RELEASE_COMMAND_ENV_VAR]: '1' },
        labels: {
          runId: run.id,
          entityRef: run.entityRef,
          step: step.position,
          instanceId: this.instanceId,
          expiresAt: new Date(
            Date.now() +
              step.timeoutSeconds * 1000 +
              settings.stopGracePeriodMs +
              settings.staleAfterMs,
          ),
        },
        onOutput: (stream, chunk) =>
          log.output(step.position, stream, masker.push(stream, chunk)),
        onStarted: workloadId =>
          runsStore
            .setStepWorkload(run.id, step.position, workloadId)
            .catch(() => {}),
        signal: AbortSignal.any([signal, timeout.signal]),
      });
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(timer);
      log.output(step.position, 'stdout', masker.flush('stdout'));
      log.output(step.position, 'stderr', masker.flush('stderr'));
    }

    const took = formatDuration(Date.now() - startedAt);
    const exit = result ? `exit ${result.exitCode}, ` : '';
    const quoted = `"${step.label}"`;
    let outcome: StepOutcome;
    let verdict: Verdict | undefined;
    if (signal.aborted) {
      const stopped = stoppedVerdict(signal.reason, quoted);
      outcome = {
        status: stopped.status === 'cancelled' ? 'cancelled' : 'interrupted',
        exitCode: result?.exitCode ?? null,
        oomKilled: result?.oomKilled ?? false,
      };
      log.system(`${prefix} ${stopped.status} (${exit}${took})`, step.position);
      verdict = stopped;
    } else if (timeout.signal.aborted) {
      const limit = formatDuration(step.timeoutSeconds * 1000);
      outcome = {
        status: 'timed_out',
        exitCode: result?.exitCode ?? null,
        oomKilled: false,
      };
      log.system(
        `${prefix} timed out after ${limit} and was stopped (${exit}${took})`,
        step.position,
      );
      verdict = {
        status: 'timed_out',
        reason: `${quoted} timed out after ${limit} and was stopped.`,
        line: 'Release commands failed:',
      };
    } else if (!result) {
      outcome = { status: 'failed', exitCode: null, oomKilled: false };
      log.system(`${prefix} failed (${took})`, step.position);
      verdict = failedVerdict(describeStepError(failure, quoted));
    } else if (result.exitCode === 0 && !result.oomKilled) {
      outcome = { status: 'succeeded', exitCode: 0, oomKilled: false };
      log.system(`${prefix} passed (exit 0, ${took})`, step.position);
    } else if (result.oomKilled) {
      outcome = {
        status: 'failed',
        exitCode: result.exitCode,
        oomKilled: true,
      };
      log.system(
        `${prefix} failed: out of memory (${exit}killed by the kernel, ${took})`,
        step.position,
      );
      verdict = failedVerdict(
        `${quoted} ran out of memory and was killed (exit code ${result.exitCode}); give it more memory (releaseCommands.docker.memory) or make it use less.`,
      );
    } else {
      outcome = {
        status: 'failed',
        exitCode: result.exitCode,
        oomKilled: false,
      };
      log.system(`${prefix} failed (${exit}${took})`, step.position);
      const killedBy = SIGNALS[result.exitCode - 128];
      verdict = failedVerdict(
        killedBy
          ? `${quoted} was killed by ${killedBy} (exit code ${result.exitCode}); this run did not stop it, so the engine, the host or the command itself did.`
          : `${quoted} exited with code ${result.exitCode}.`,
      );
    }
    await runsStore.finishStep(run.id, step.position, outcome);
    return verdict;
  }

  private openLog(
    runId: string,
    firstSeq: number,
    masker?: SecretMasker,
  ): RunLog {
    return new RunLog({
      redact: masker && (text => masker.maskText(text)),
      store: this.options.logStore,
      runId,
      firstSeq,
      capBytes: this.options.settings.logCapBytes,
      onWritten: () => this.options.events.notify(runId),
      onError: error =>
        this.options.logger.warn(
          `Could not write the log of release command run ${runId}: ${error}`,
        ),
    });
  }

  private async nextLogSeq(runId: string): Promise<number> {
    return (await this.options.logStore.lastLogSeq(runId)) + 1;
  }

  /** Keeps this instance's runs alive and picks up cancels and queued runs. */
  private async heartbeat(): Promise<void> {
    const runIds = [...this.active.keys(), ...this.secrets.keys()];
    try {
      const { cancelRequested, ended } = await this.options.runsStore.heartbeat(
        this.instanceId,
        runIds,
      );
      for (const runId of cancelRequested) {
        const run = await this.options.runsStore.getRun(runId);
        this.active.get(runId)?.controller.abort({
          kind: 'cancel',
          actor: run?.cancelRequestedBy ?? 'someone',
        } satisfies StopReason);
      }
      for (const runId of ended) {
        this.secrets.delete(runId);
        this.active
          .get(runId)
          ?.controller.abort({ kind: 'ended' } satisfies StopReason);
      }
    } catch (error) {
      this.options.logger.warn(
        `Could not record the heartbeat of release command runs: ${error}`,
      );
    }
    this.schedule();
  }

  /**
   * Ends the runs of instances that stopped, and removes containers of runs
   * that are no longer alive.
   */
  private async recover(): Promise<void> {
    const { runsStore, executor, logger, settings } = this.options;
    const staleBefore = new Date(Date.now() - settings.staleAfterMs);
    try {
      const gone = (await runsStore.activeRunOwners()).filter(
        owner => owner !== this.instanceId && isInstanceGone(owner),
      );
      for (const run of await runsStore.interruptStaleRuns(staleBefore, gone)) {
        logger.warn(
          `Release command run ${run.id} of ${run.entityRef} was interrupted: ${run.reason}`,
        );
        const log = this.openLog(run.id, await this.nextLogSeq(run.id));
        for (const step of run.steps) {
          if (step.status === 'interrupted' || step.status === 'skipped') {
            log.system(
              `${stepPrefix(step, run.steps.length)} ${step.status}`,
              step.position,
            );
          }
        }
        log.system(
          `Release commands interrupted: ${run.reason} The deployment must not proceed.`,
        );
        await log.close();
        this.options.events.notify(run.id);
      }
    } catch (error) {
      logger.warn(`Could not recover release command runs: ${error}`);
    }
    try {
      const removed = await executor.removeLeftovers({
        isAlive: async runId =>
          this.active.has(runId) || runsStore.isRunAlive(runId, staleBefore),
      });
      if (removed.length > 0) {
        logger.info(
          `Removed ${plural(
            removed.length,
            'leftover release command container',
          )}: ${removed.join(', ')}`,
        );
      }
    } catch (error) {
      logger.debug(`Could not look for leftover containers: ${error}`);
    }
  }
}

function stepPrefix(step: RunStep, total: number): string {
  return `[${step.position + 1}/${total}] ${step.label}`;
}

function failedVerdict(reason: string): Verdict {
  return { status: 'failed', reason, line: 'Release commands failed:' };
}

/** The verdict of a run stopped from outside, during `quotedStep` if any. */
function stoppedVerdict(
  reason: StopReason,
  quotedStep: string | undefined,
): Verdict {
  const during = quotedStep
    ? ` while ${quotedStep} was running`
    : ' before the next command started';
  if (reason.kind === 'cancel') {
    return {
      status: 'cancelled',
      reason: `Cancelled by ${reason.actor}${during}.`,
      line: 'Release commands cancelled:',
    };
  }
  const why =
    reason.kind === 'shutdown'
      ? `The backend shut down${during}`
      : `The run was ended by another backend instance${during}`;
  return {
    status: 'interrupted',
    reason: `${why}; it was not retried because a command may have been partly applied. Check the service, then run the release commands again.`,
    line: 'Release commands interrupted:',
  };
}

/** What went wrong, ending as a sentence does: reasons are followed by more. */
function describeAsSentence(error: unknown): string {
  const message = describeError(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

function describeStepError(error: unknown, quotedStep: string): string {
  if (error instanceof ExecutorError) {
    if (error.kind === 'command') {
      return `${quotedStep} could not start: ${describeAsSentence(error)}`;
    }
    if (error.kind === 'engine') {
      return `The Docker engine failed while ${quotedStep} was running: ${describeAsSentence(
        error,
      )} The command may have been partly applied.`;
    }
    return describeAsSentence(error);
  }
  return `${quotedStep} failed unexpectedly: ${describeAsSentence(error)}`;
}
