import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';
import { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';

/** Waiting reasons after which the pod will not start without a change. */
const START_FAILURES: Record<string, ExecutorError['kind']> = {
  ErrImagePull: 'image',
  ImagePullBackOff: 'image',
  InvalidImageName: 'image',
  ErrImageNeverPull: 'image',
  CreateContainerConfigError: 'command',
  CreateContainerError: 'command',
  RunContainerError: 'command',
};

/** Why the pod cannot start, as the cluster says, or undefined. */
export type StartProblem = {
  kind: ExecutorError['kind'];
  reason: string;
  message: string;
};

export function containerState(pod: V1Pod | undefined) {
  return pod?.status?.containerStatuses?.[0]?.state;
}

export function hasStarted(pod: V1Pod | undefined): boolean {
  const state = containerState(pod);
  return !!(state?.running || state?.terminated);
}

export function terminatedState(
  pod: V1Pod | undefined,
): V1ContainerStateTerminated | undefined {
  return containerState(pod)?.terminated;
}

export function startProblem(pod: V1Pod | undefined): StartProblem | undefined {
  const waiting = containerState(pod)?.waiting;
  const kind = waiting?.reason ? START_FAILURES[waiting.reason] : undefined;
  if (kind) {
    return { kind, reason: waiting!.reason!, message: waiting!.message ?? '' };
  }
  const unschedulable = pod?.status?.conditions?.find(
    condition =>
      condition.type === 'PodScheduled' &&
      condition.status === 'False' &&
      condition.reason === 'Unschedulable',
  );
  if (unschedulable) {
    return {
      kind: 'engine',
      reason: 'Unschedulable',
      message: unschedulable.message ?? '',
    };
  }
  return undefined;
}
