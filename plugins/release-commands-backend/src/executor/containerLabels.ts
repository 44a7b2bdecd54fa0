import {
  STEP_WORKLOAD_KEYS,
  StepWorkloadLabels,
} from '@release-commands/backstage-plugin-release-commands-node';

/** The labels that mark a container as a step's, and say whose. */
export const CONTAINER_LABEL = STEP_WORKLOAD_KEYS;

/** The labels of a step's container. */
export function containerLabels(
  labels: StepWorkloadLabels,
): Record<string, string> {
  return {
    [CONTAINER_LABEL.managed]: 'true',
    [CONTAINER_LABEL.run]: labels.runId,
    [CONTAINER_LABEL.entity]: labels.entityRef,
    [CONTAINER_LABEL.step]: String(labels.step),
    [CONTAINER_LABEL.instance]: labels.instanceId,
    [CONTAINER_LABEL.expiresAt]: labels.expiresAt.toISOString(),
  };
}
