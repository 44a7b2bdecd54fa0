import {
  STEP_WORKLOAD_KEYS,
  StepWorkloadLabels,
} from '@release-commands/backstage-plugin-release-commands-node';

/**
 * The keys that mark a Job, its pod and a run's Secret as ours: the
 * executors' shared keys. The values that are not valid label values (an
 * entity ref, an instance id, an ISO instant) are annotations instead.
 */
export const WORKLOAD_LABEL = {
  managed: STEP_WORKLOAD_KEYS.managed,
  run: STEP_WORKLOAD_KEYS.run,
  step: STEP_WORKLOAD_KEYS.step,
};

export const WORKLOAD_ANNOTATION = {
  entity: STEP_WORKLOAD_KEYS.entity,
  instance: STEP_WORKLOAD_KEYS.instance,
  expiresAt: STEP_WORKLOAD_KEYS.expiresAt,
};

/** Selects every object this module made. */
export const MANAGED_SELECTOR = `${WORKLOAD_LABEL.managed}=true`;

/** Label values: at most 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends. */
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/;

/** The labels and annotations of a run's objects (without a step for its Secret). */
export function workloadMetadata(
  labels: Omit<StepWorkloadLabels, 'step'> & { step?: number },
): { labels: Record<string, string>; annotations: Record<string, string> } {
  if (!LABEL_VALUE.test(labels.runId)) {
    throw new Error(
      `Run id ${JSON.stringify(labels.runId)} is not a valid label value`,
    );
  }
  return {
    labels: {
      [WORKLOAD_LABEL.managed]: 'true',
      [WORKLOAD_LABEL.run]: labels.runId,
      ...(labels.step === undefined
        ? {}
        : { [WORKLOAD_LABEL.step]: String(labels.step) }),
    },
    annotations: {
      [WORKLOAD_ANNOTATION.entity]: labels.entityRef,
      [WORKLOAD_ANNOTATION.instance]: labels.instanceId,
      [WORKLOAD_ANNOTATION.expiresAt]: labels.expiresAt.toISOString(),
    },
  };
}

/** The name of a run's Secret: one per run, so that every step finds it. */
export function runSecretName(runId: string): string {
  return `release-commands-env-${runId.toLowerCase().replace(/_/g, '-')}`;
}
