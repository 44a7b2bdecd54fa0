import { V1Job, V1PodSpec } from '@kubernetes/client-node';
import { StepRequest } from '@release-commands/backstage-plugin-release-commands-node';
import { deepMerge } from './deepMerge';
import { workloadMetadata } from './kubernetesLabels';
import { KubernetesExecutorOptions } from './readKubernetesExecutorOptions';

/** The name of the step's container in its pod. */
export const STEP_CONTAINER = 'step';

/**
 * The Job of one step: one pod, never restarted nor retried (a migration
 * may be half-applied), its env from the run's Secret, ended by the
 * cluster itself once the step's expiry passes should this backend be gone
 * by then.
 */
export function buildStepJob(
  request: Pick<StepRequest, 'image' | 'argv' | 'labels' | 'tty'>,
  options: KubernetesExecutorOptions,
  secretName: string,
  now: number = Date.now(),
): V1Job {
  const metadata = workloadMetadata(request.labels);
  // The expiry is the step's timeout plus the backend's grace and the time
  // it takes to notice a dead backend: the backend's own timer stops the
  // step first, and this deadline is for when no backend is left to.
  const activeDeadlineSeconds = Math.max(
    1,
    Math.ceil((request.labels.expiresAt.getTime() - now) / 1000),
  );
  const podSpec: V1PodSpec = {
    restartPolicy: 'Never',
    serviceAccountName: options.serviceAccountName,
    // The command has no business with the cluster's API.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: options.stopGracePeriodSeconds,
    nodeSelector: options.nodeSelector,
    tolerations: options.tolerations,
    imagePullSecrets: options.imagePullSecrets.length
      ? options.imagePullSecrets.map(name => ({ name }))
      : undefined,
    containers: [
      {
        name: STEP_CONTAINER,
        image: request.image,
        // Replaces the image's ENTRYPOINT, so that it never wraps the command.
        command: request.argv,
        envFrom: [{ secretRef: { name: secretName } }],
        resources: options.resources,
        tty: request.tty ?? options.tty,
        securityContext: {
          privileged: false,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        },
      },
    ],
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      generateName: `release-commands-step-${request.labels.step}-`,
      ...metadata,
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished,
      podFailurePolicy: {
        rules: [
          // An evicted or preempted pod fails the Job rather than being
          // replaced: a command is never run twice behind our back.
          {
            action: 'FailJob',
            onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
          },
          {
            action: 'FailJob',
            onExitCodes: {
              containerName: STEP_CONTAINER,
              operator: 'NotIn',
              values: [0],
            },
          },
        ],
      },
      template: deepMerge(
        { metadata, spec: podSpec },
        options.podTemplatePatch,
      ),
    },
  };
}
