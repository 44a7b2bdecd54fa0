import {
  commandArgv,
  formatBytes,
  formatDuration,
  plural,
  RELEASE_COMMAND_ENV_VAR,
  ReleaseCommandRun,
  RUN_LOG_HEADING,
  inRunOrder,
  RELEASE_COMMANDS_IMAGE_LABEL,
  RunStep,
  shortRevision,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  PreparedImage,
  ReleaseCommandExecutor,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import { NewStep, RunsStore } from '../database/RunsStore';
import { declaredSteps } from '../declarations/declaredSteps';
import { imageDeclaration } from '../declarations/imageDeclaration';
import {
  executableOf,
  LOOKUP_TIMEOUT_MS,
  lookUpExecutables,
  missingExecutable,
} from './checkExecutables';
import { openRunLog, RunLogContext } from './openRunLog';
import { OutputPacer } from './OutputPacer';
import { RunLog } from './RunLog';
import { RunSettings } from './RunSettings';
import { SecretMasker } from './SecretMasker';
import { retryStoreWrite } from './storeRetries';
import {
  closingLine,
  failedVerdict,
  imageFailedVerdict,
  judgeStep,
  noCommandsVerdict,
  passedVerdict,
  secretsMissingVerdict,
  stepPrefix,
  StopReason,
  stoppedVerdict,
  unexpectedVerdict,
  Verdict,
} from './verdicts';

/** How long an executor's `endRun` may take before the run ends without it. */
const END_RUN_TIMEOUT_MS = 30_000;

/** What the execution of a run works with. */
export type RunExecutionContext = RunLogContext & {
  runsStore: RunsStore;
  executor: ReleaseCommandExecutor;
  settings: RunSettings;
  instanceId: string;
  /**
   * Aborted when store writes must stop being retried (the backend is
   * shutting down and its grace has passed): what is not written then is
   * left to recovery.
   */
  giveUp: AbortSignal;
  /** Shares the event loop between all runs' output and everything else. */
  pacer: OutputPacer;
  /** Told once a run has ended, by whichever part ended it. */
  runEnded(runId: string): void;
};

/**
 * The execution of one claimed run: its steps one after another through the
 * executor, its log, and its verdict, recorded as the run's end.
 */
export class RunExecution {
  private masker: SecretMasker | undefined;
  private readonly log: RunLog;
  /** The run's steps: the image's declared commands join once it is resolved. */
  private steps: RunStep[];
  private total: number;
  /** What every step starts from: the image as resolved before the first. */
  private stepImage: string;
  private readonly signal: AbortSignal;
  private readonly deadline = new AbortController();
  /** Aborted when the execution is over: nothing of it runs on. */
  private readonly over = new AbortController();

  constructor(
    private readonly context: RunExecutionContext,
    private readonly run: ReleaseCommandRun,
    /** Undefined when this instance does not hold the run's secrets. */
    private env: Record<string, string> | undefined,
    signal: AbortSignal,
  ) {
    this.masker = new SecretMasker(Object.values(env ?? {}));
    this.log = openRunLog(context, run.id, 0, {
      masker: this.masker,
      ownerInstance: context.instanceId,
    });
    this.steps = run.steps;
    this.total = run.steps.length;
    this.stepImage = run.image;
    this.signal = AbortSignal.any([signal, this.deadline.signal]);
  }

  /**
   * Runs the steps and ends the run; resolves once its end is recorded (or,
   * at shutdown, left to recovery). Whatever happens, its timers are
   * cleared and its secrets dropped by then.
   */
  async execute(): Promise<void> {
    const { run, log, context } = this;
    const startedAt = Date.now();
    const { runDeadlineMs } = context.settings;
    const deadline = setTimeout(
      () =>
        this.deadline.abort({
          kind: 'deadline',
          limitMs: runDeadlineMs,
        } satisfies StopReason),
      runDeadlineMs,
    );
    let verdict: Verdict;
    try {
      verdict = await this.runAll();
    } catch (error) {
      verdict = unexpectedVerdict(error);
    } finally {
      clearTimeout(deadline);
      await this.endExecutorRun();
    }
    // A reason may quote an error, and an error may quote a value.
    const reason = verdict.reason && this.masker!.maskText(verdict.reason);
    log.system(closingLine({ ...verdict, reason }));
    this.env = undefined;
    this.masker = undefined;
    // The log is complete before the run reads as ended, so a follower that
    // sees the end has every line.
    await log.close(context.giveUp);
    if (log.lostBytes > 0) {
      context.logger.warn(
        `${formatBytes(log.lostBytes)} of the log of release command run ${
          run.id
        } could not be stored`,
      );
    }
    let ended: boolean;
    try {
      ended = await this.write('record the end', () =>
        context.runsStore.finishRun(run.id, { status: verdict.status, reason }),
      );
    } catch (error) {
      context.logger.error(
        `Could not record that release command run ${run.id} of ${run.entityRef} ended as ${verdict.status}; recovery will end it: ${error}`,
      );
      return;
    } finally {
      this.over.abort();
    }
    if (ended) {
      context.runEnded(run.id);
    } else {
      context.logger.warn(
        `Release command run ${run.id} of ${run.entityRef} had already been ended elsewhere before it finished as ${verdict.status}`,
      );
    }
    context.events.notify(run.id);
    context.logger.info(
      `Release command run ${run.id} of ${run.entityRef} on ${run.image}: ${
        verdict.status
      } after ${formatDuration(Date.now() - startedAt)}`,
    );
  }

  /**
   * Lets the executor release what it kept for the run (a Kubernetes
   * Secret, ...). Its failure, or an answer that does not come in time, is
   * logged and never changes how the run ends.
   */
  private async endExecutorRun(): Promise<void> {
    const { context, run } = this;
    if (!context.executor.endRun) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        context.executor.endRun(run.id),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('no answer in time')),
            END_RUN_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      context.logger.warn(
        `The executor could not release what it kept for release command run ${run.id}: ${error}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A store write of this run, retried with backoff while the store fails
   * (until `signal`, else until the backend gives up at shutdown).
   */
  private write<T>(
    what: string,
    write: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const { context, run } = this;
    return retryStoreWrite(write, {
      signal: signal
        ? AbortSignal.any([signal, context.giveUp])
        : context.giveUp,
      onRetry: (error, attempt) => {
        if (attempt === 1) {
          context.logger.warn(
            `Could not ${what} of release command run ${run.id}; retrying: ${error}`,
          );
        }
      },
    });
  }

  /** The heading, the steps and what they leave to say; the verdict. */
  private async runAll(): Promise<Verdict> {
    const { run, log, masker, context } = this;

    log.system(RUN_LOG_HEADING);
    log.system(
      `${plural(this.total, 'release command')} of ${run.entityRef} on ${
        run.image
      } (environment ${run.environment}, triggered by ${run.triggeredBy}, ${
        context.executor.description
      })`,
    );
    if (run.envKeys.length > 0) {
      log.system(
        `Variables: ${run.envKeys.join(', ')} (values are masked in this log${
          masker!.unmaskedCount > 0
            ? `, except ${plural(
                masker!.unmaskedCount,
                'value',
              )} shorter than ${SecretMasker.minSecretLength} characters`
            : ''
        })`,
      );
    }

    const declared = describeDeclaredSteps(run.steps);
    if (declared) log.system(declared);

    const verdict = await this.runSteps();
    for (const step of this.steps.slice(verdict.skippedFrom)) {
      log.system(`${stepPrefix(step, this.total)} skipped`, step.position);
    }
    if (log.cutBytes > 0) {
      log.system(
        `This log was capped at ${formatBytes(
          context.settings.logCapBytes,
        )}: ${formatBytes(log.cutBytes)} of command output were cut.`,
      );
    }
    return verdict;
  }

  /** Runs the steps in order; stops at the first that does not pass. */
  private async runSteps(): Promise<Verdict & { skippedFrom: number }> {
    const { run, signal, context } = this;
    const startedAt = Date.now();
    // Without them the commands would run, and could pass, with none of the
    // variables the deploy passed.
    if (!this.env && run.envKeys.length > 0) {
      return { ...secretsMissingVerdict(run.envKeys), skippedFrom: 0 };
    }

    let prepared: PreparedImage | void;
    try {
      prepared = await context.executor.prepareImage({
        image: run.image,
        log: line => this.log.system(line),
        signal,
      });
    } catch (error) {
      return {
        ...(signal.aborted
          ? stoppedVerdict(signal.reason, undefined)
          : imageFailedVerdict(error)),
        skippedFrom: 0,
      };
    }
    if (prepared) {
      // Resolved once: a tag moved during the run changes no later step.
      this.stepImage = prepared.reference;
      const { id = null, digest = null } = prepared;
      try {
        await this.write(
          'record the image',
          () => context.runsStore.setRunImage(run.id, { id, digest }),
          signal,
        );
      } catch (error) {
        if (!signal.aborted) throw error;
        return { ...stoppedVerdict(signal.reason, undefined), skippedFrom: 0 };
      }
      this.log.system(describePreparedImage(run.image, prepared));
      const verdict = await this.addImageSteps(prepared);
      if (verdict) return { ...verdict, skippedFrom: 0 };
    }
    if (this.total === 0) {
      return { ...noCommandsVerdict(run.entityRef), skippedFrom: 0 };
    }
    if (context.settings.preflight) {
      const problems = await this.preflight();
      if (signal.aborted) {
        return { ...stoppedVerdict(signal.reason, undefined), skippedFrom: 0 };
      }
      if (problems.length > 0) {
        return {
          ...failedVerdict(`Pre-flight: ${problems.join(' ')} No command ran.`),
          skippedFrom: 0,
        };
      }
    }

    for (const step of this.steps) {
      if (signal.aborted) {
        return {
          ...stoppedVerdict(signal.reason, undefined),
          skippedFrom: step.position,
        };
      }
      let started: boolean;
      try {
        started = await this.write(
          'start a step',
          () => context.runsStore.startStep(run.id, step.position),
          signal,
        );
      } catch (error) {
        if (!signal.aborted) throw error;
        return {
          ...stoppedVerdict(signal.reason, undefined),
          skippedFrom: step.position,
        };
      }
      if (!started) {
        return {
          ...stoppedVerdict({ kind: 'ended' }, undefined),
          skippedFrom: step.position,
        };
      }
      const verdict = await this.runStep(step);
      if (verdict) {
        return { ...verdict, skippedFrom: step.position + 1 };
      }
    }
    return {
      ...passedVerdict(this.total, Date.now() - startedAt),
      skippedFrom: this.total,
    };
  }

  /**
   * Adds the commands the resolved image declares to the steps, in the
   * position the declaration gives; returns the verdict when the run must
   * not go on (a broken declaration fails it before step 1).
   */
  private async addImageSteps(
    prepared: PreparedImage,
  ): Promise<Verdict | undefined> {
    const { run, context, log, signal } = this;
    if (!prepared.labels) {
      log.system(
        `This executor does not read image labels: commands an image declares in its ${RELEASE_COMMANDS_IMAGE_LABEL} label do not run`,
      );
      return undefined;
    }
    const declaration = imageDeclaration(run.image, prepared);
    if (!declaration) return undefined;
    if (declaration.problem) {
      return failedVerdict(`${declaration.problem} No command ran.`);
    }
    const steps = inRunOrder<NewStep>(this.steps, [
      declaredSteps(declaration, context.settings.defaultTimeoutSeconds),
    ]);
    let replaced: ReleaseCommandRun | undefined;
    try {
      const stored = await this.write(
        "record the image's commands",
        () => context.runsStore.replacePendingSteps(run.id, steps),
        signal,
      );
      replaced = stored ? await context.runsStore.getRun(run.id) : undefined;
    } catch (error) {
      if (!signal.aborted) throw error;
      return stoppedVerdict(signal.reason, undefined);
    }
    if (!replaced) return stoppedVerdict({ kind: 'ended' }, undefined);
    this.steps = replaced.steps;
    this.total = replaced.steps.length;
    log.system(
      `The image declares ${plural(
        declaration.commands.length,
        'release command',
      )} in its ${RELEASE_COMMANDS_IMAGE_LABEL} label: ${declaration.commands
        .map(command => `${command.label} (${command.position} the others)`)
        .join(', ')}. ${plural(this.total, 'release command')} in all`,
    );
    context.events.notify(run.id);
    return undefined;
  }

  /**
   * Looks each step's executable up in the image before step 1, as a dry
   * run does: the problems found, each naming its step. A lookup that
   * cannot be made (an image without /bin/sh) is logged, and the steps run.
   */
  private async preflight(): Promise<string[]> {
    const { run, context, log } = this;
    const executables = this.steps.map(step => executableOf(step.command));
    const names = [...new Set(executables.flatMap(name => name ?? []))];
    log.system(
      `Pre-flight: looking up ${plural(
        names.length,
        'executable',
      )} in the image`,
    );
    const lookup = await lookUpExecutables({
      executor: context.executor,
      image: this.stepImage,
      executables: names,
      env: { ...this.env },
      environment: run.environment,
      labels: {
        runId: run.id,
        entityRef: run.entityRef,
        step: 0,
        instanceId: context.instanceId,
        expiresAt: new Date(
          Date.now() +
            LOOKUP_TIMEOUT_MS +
            context.settings.stopGracePeriodMs +
            context.settings.staleAfterMs,
        ),
      },
      signal: AbortSignal.any([
        this.signal,
        AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      ]),
    });
    if (lookup.kind === 'failed') {
      log.system(
        `Pre-flight: could not look up the executables (${lookup.reason}); the steps run as they are`,
      );
      return [];
    }
    const problems = this.steps.flatMap(step => {
      const executable = executables[step.position];
      if (executable === null || lookup.found.get(executable) !== false) {
        return [];
      }
      return [
        missingExecutable({
          position: step.position,
          total: this.total,
          label: step.label,
          executable,
          image: run.image,
        }),
      ];
    });
    if (problems.length === 0) {
      log.system('Pre-flight: every executable is in the image');
    }
    return problems;
  }

  /** Runs one step; returns the run's verdict when the step did not pass. */
  private async runStep(step: RunStep): Promise<Verdict | undefined> {
    const { run, signal, log, context } = this;
    const masker = this.masker!;
    const { executor, runsStore, settings } = context;
    // Alone, so that a reader who may not read commands is shown it without.
    log.system(
      `${stepPrefix(step, this.total)}: ${step.command}`,
      step.position,
      true,
    );

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), step.timeoutSeconds * 1000);
    const startedAt = Date.now();
    let result: StepResult | undefined;
    let failure: unknown;
    try {
      result = await executor.runStep({
        image: this.stepImage,
        argv: commandArgv(step.command),
        env: { ...this.env, [RELEASE_COMMAND_ENV_VAR]: '1' },
        environment: run.environment,
        labels: {
          runId: run.id,
          entityRef: run.entityRef,
          step: step.position,
          instanceId: context.instanceId,
          expiresAt: new Date(
            Date.now() +
              Math.min(step.timeoutSeconds * 1000, settings.runDeadlineMs) +
              settings.stopGracePeriodMs +
              settings.staleAfterMs,
          ),
        },
        onOutput: (stream, chunk) =>
          context.pacer.handle(
            () => log.output(step.position, stream, masker.push(stream, chunk)),
            chunk.length,
          ),
        onStarted: workloadId =>
          this.write(
            'record the container',
            () => runsStore.setStepWorkload(run.id, step.position, workloadId),
            this.over.signal,
          ).catch(() => {}),
        signal: AbortSignal.any([signal, timeout.signal]),
      });
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(timer);
      log.output(step.position, 'stdout', masker.flush('stdout'));
      log.output(step.position, 'stderr', masker.flush('stderr'));
    }

    const judged = judgeStep({
      step,
      total: this.total,
      tookMs: Date.now() - startedAt,
      result,
      failure,
      stopped: signal.aborted ? signal.reason : undefined,
      timedOut: timeout.signal.aborted,
    });
    log.system(judged.line, step.position);
    await this.write('record the end of a step', () =>
      runsStore.finishStep(run.id, step.position, judged.outcome),
    );
    return judged.verdict;
  }
}

/**
 * `2 of them are declared in https://.../release-commands.yaml
 * (sha256:3f2a9c1b0d4e)`, for the log's heading; undefined when the tab's
 * list has them all.
 */
function describeDeclaredSteps(steps: RunStep[]): string | undefined {
  const files = new Map<string, number>();
  for (const step of steps) {
    if (!step.declaredIn) continue;
    const { location, revision } = step.declaredIn;
    const key = revision
      ? `${location} (${shortRevision(revision)})`
      : location;
    files.set(key, (files.get(key) ?? 0) + 1);
  }
  if (files.size === 0) return undefined;
  return [...files]
    .map(
      ([file, count]) =>
        `${count === steps.length ? 'All' : count} of them ${
          count === 1 ? 'is' : 'are'
        } declared in ${file}`,
    )
    .join('; ');
}

/** `Image shop:1 is sha256:...; every step runs it`, for the log's heading. */
function describePreparedImage(image: string, prepared: PreparedImage): string {
  const resolved = prepared.id ?? prepared.reference;
  const digest =
    prepared.digest && prepared.digest !== image ? ` (${prepared.digest})` : '';
  return `Image ${image} is ${resolved}${digest}; every step runs it`;
}
