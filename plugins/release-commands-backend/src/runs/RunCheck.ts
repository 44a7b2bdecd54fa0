import {
  CommandDeclaration,
  inRunOrder,
  RunPlan,
  RunPlanStep,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ReleaseCommandExecutor } from '@release-commands/backstage-plugin-release-commands-node';
import { randomUUID } from 'node:crypto';
import { ReleaseCommandsStore } from '../database/ReleaseCommandsStore';
import { NewStep, RunsStore } from '../database/RunsStore';
import { declaredSteps, stepsInRunOrder } from '../declarations/declaredSteps';
import { imageDeclaration } from '../declarations/imageDeclaration';
import {
  executableOf,
  LOOKUP_TIMEOUT_MS,
  lookUpExecutables,
  missingExecutable,
} from './checkExecutables';
import { RunSettings } from './RunSettings';
import { TooManyRunsError } from './TooManyRunsError';
import { imageFailedVerdict } from './verdicts';

/** How long a check may take to make the image available. */
const PREPARE_TIMEOUT_MS = 10 * 60_000;

/** A plan as checked, before it is shown to a caller. */
export type CheckedPlan = Omit<RunPlan, 'ok'>;

/**
 * Checks a run without running it: the commands a run would take now, the
 * entity's lock, the image made available and resolved, and each step's
 * executable looked up in it. Writes nothing and takes no lock; the only
 * workload is the lookup's, removed as any step's is.
 */
export class RunCheck {
  private active = 0;

  constructor(
    private readonly options: {
      commandsStore: ReleaseCommandsStore;
      runsStore: RunsStore;
      executor: ReleaseCommandExecutor;
      settings: RunSettings;
      instanceId: string;
    },
  ) {}

  async check(request: CheckRequest): Promise<CheckedPlan> {
    const { settings } = this.options;
    // Checks start workloads outside the run queue: as many at once as runs.
    if (this.active >= settings.maxConcurrentRuns) {
      throw new TooManyRunsError(
        `At most ${settings.maxConcurrentRuns} checks run at once on this backend instance (releaseCommands.runs.maxConcurrent); try again`,
      );
    }
    this.active += 1;
    try {
      return await this.checkNow(request);
    } finally {
      this.active -= 1;
    }
  }

  private async checkNow(request: CheckRequest): Promise<CheckedPlan> {
    const { commandsStore, runsStore, executor, settings } = this.options;
    const { declaration } = request;
    const list = await commandsStore.getCommands(request.entityRef);
    let steps = stepsInRunOrder(
      list.commands,
      declaration,
      settings.defaultTimeoutSeconds,
    );
    const plan: CheckedPlan = {
      dryRun: true,
      entityRef: request.entityRef,
      environment: request.environment,
      image: request.image,
      imageId: null,
      imageDigest: null,
      steps: planSteps(steps),
      problems: declaration?.problem ? [declaration.problem] : [],
    };
    const lock = await runsStore.describeLock(
      request.entityRef,
      request.environment,
    );
    if (lock) plan.problems.push(lock);
    if (declaration?.problem) return plan;

    let reference = request.image;
    try {
      const prepared = await executor.prepareImage({
        image: request.image,
        log: () => {},
        signal: AbortSignal.timeout(PREPARE_TIMEOUT_MS),
      });
      if (prepared) {
        reference = prepared.reference;
        plan.imageId = prepared.id ?? null;
        plan.imageDigest = prepared.digest ?? null;
        const declared = imageDeclaration(request.image, prepared);
        if (declared?.problem) {
          plan.problems.push(declared.problem);
          return plan;
        }
        if (declared) {
          steps = inRunOrder(steps, [
            declaredSteps(declared, settings.defaultTimeoutSeconds),
          ]);
          plan.steps = planSteps(steps);
        }
      }
    } catch (error) {
      plan.problems.push(imageFailedVerdict(error).reason!);
      return plan;
    }

    if (plan.steps.length === 0) return plan;
    const executables = [
      ...new Set(plan.steps.flatMap(step => step.executable ?? [])),
    ];
    const lookup = await lookUpExecutables({
      executor,
      image: reference,
      executables,
      env: request.env,
      environment: request.environment,
      labels: {
        runId: randomUUID(),
        entityRef: request.entityRef,
        step: 0,
        instanceId: this.options.instanceId,
        expiresAt: new Date(
          Date.now() +
            LOOKUP_TIMEOUT_MS +
            settings.stopGracePeriodMs +
            settings.staleAfterMs,
        ),
      },
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    });
    if (lookup.kind === 'failed') {
      plan.problems.push(
        `Could not look up the commands' executables in ${request.image}: ${lookup.reason}.`,
      );
      return plan;
    }
    for (const step of plan.steps) {
      if (step.executable !== null) {
        step.found = lookup.found.get(step.executable) ?? null;
      }
    }
    return plan;
  }
}

/** What a check is asked: a run's request, with what the repository declares. */
type CheckRequest = {
  entityRef: string;
  image: string;
  env: Record<string, string>;
  environment: string;
  declaration?: CommandDeclaration;
};

/** Steps in run order as a plan shows them, before they are looked up. */
function planSteps(steps: NewStep[]): RunPlanStep[] {
  return steps.map((step, position) => ({
    position,
    label: step.label,
    source: step.source ?? null,
    ...(step.declaredIn && { declaredIn: step.declaredIn }),
    command: step.command,
    timeoutSeconds: step.timeoutSeconds,
    executable: executableOf(step.command),
    found: null,
  }));
}

/**
 * The plan as a caller sees it: without the commands, and without the
 * executables they name, for one who may not read them; with a problem
 * for each step whose executable the image does not have.
 */
export function shownPlan(plan: CheckedPlan, seesCommands: boolean): RunPlan {
  const total = plan.steps.length;
  const missing = plan.steps.filter(step => step.found === false);
  const problems = [
    ...plan.problems,
    ...missing.map(step =>
      missingExecutable({
        position: step.position,
        total,
        label: step.label,
        executable: seesCommands ? step.executable ?? undefined : undefined,
        image: plan.image,
      }),
    ),
  ];
  return {
    ...plan,
    ok: problems.length === 0,
    problems,
    steps: seesCommands
      ? plan.steps
      : plan.steps.map(step => ({
          ...step,
          command: '',
          commandHidden: true as const,
          executable: null,
          found: step.found === false ? false : null,
        })),
  };
}
