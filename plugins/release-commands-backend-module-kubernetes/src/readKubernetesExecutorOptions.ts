import { Config, ConfigReader } from '@backstage/config';
import { JsonObject } from '@backstage/types';
import { V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';

/** Where the client finds its cluster and credentials. */
export type KubernetesConnection =
  /** `KubeConfig.loadFromDefault`: `KUBECONFIG`, `~/.kube/config`, else in-cluster. */
  | { type: 'default'; context?: string }
  /** The pod's own service account token (`KubeConfig.loadFromCluster`). */
  | { type: 'inCluster' }
  /** A kubeconfig file (`KubeConfig.loadFromFile`). */
  | { type: 'file'; path: string; context?: string };

/** How each step's Job is made, watched and stopped. */
export type KubernetesExecutorOptions = {
  connection: KubernetesConnection;
  namespace: string;
  serviceAccountName?: string;
  resources?: V1ResourceRequirements;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  imagePullSecrets: string[];
  /** Deep-merged into every step's pod template, last. */
  podTemplatePatch?: JsonObject;
  /** SIGTERM, then this long until SIGKILL, when a step is stopped. */
  stopGracePeriodSeconds: number;
  /**
   * How long a pod may stay unable to start (image pull errors, bad
   * configuration, unschedulable) before the step fails with the cluster's
   * message.
   */
  startFailureGraceMs: number;
  /** How long a finished Job is kept should this backend not delete it. */
  ttlSecondsAfterFinished: number;
  /** How long the API may fail in a row while a step runs before the step fails. */
  apiFailureGraceMs: number;
  /** A terminal for each command, unless the step says otherwise. */
  tty: boolean;
};

export const DEFAULT_KUBERNETES_EXECUTOR_OPTIONS: Omit<
  KubernetesExecutorOptions,
  'connection'
> = {
  namespace: 'default',
  imagePullSecrets: [],
  stopGracePeriodSeconds: 10,
  startFailureGraceMs: 60_000,
  ttlSecondsAfterFinished: 3600,
  apiFailureGraceMs: 60_000,
  tty: true,
};

/** `releaseCommands.kubernetes.*`, with defaults. */
export function readKubernetesExecutorOptions(
  config: Config,
): KubernetesExecutorOptions {
  const k8s =
    config.getOptionalConfig('releaseCommands.kubernetes') ??
    new ConfigReader({});
  const defaults = DEFAULT_KUBERNETES_EXECUTOR_OPTIONS;
  const positive = (key: string, fallback: number) => {
    const value = k8s.getOptionalNumber(key) ?? fallback;
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(
        `releaseCommands.kubernetes.${key} must be a whole number of seconds, got ${value}`,
      );
    }
    return value;
  };
  return {
    connection: readConnection(k8s),
    namespace: k8s.getOptionalString('namespace') ?? defaults.namespace,
    serviceAccountName: k8s.getOptionalString('serviceAccountName'),
    resources: k8s.getOptional<V1ResourceRequirements>('resources'),
    nodeSelector: k8s.getOptional<Record<string, string>>('nodeSelector'),
    tolerations: k8s.getOptional<V1Toleration[]>('tolerations'),
    imagePullSecrets:
      k8s.getOptionalStringArray('imagePullSecrets') ??
      defaults.imagePullSecrets,
    podTemplatePatch: k8s.getOptional<JsonObject>('podTemplatePatch'),
    stopGracePeriodSeconds: positive(
      'stopGracePeriodSeconds',
      defaults.stopGracePeriodSeconds,
    ),
    startFailureGraceMs:
      positive(
        'startFailureGraceSeconds',
        defaults.startFailureGraceMs / 1000,
      ) * 1000,
    ttlSecondsAfterFinished: positive(
      'ttlSecondsAfterFinished',
      defaults.ttlSecondsAfterFinished,
    ),
    apiFailureGraceMs:
      positive('apiFailureGraceSeconds', defaults.apiFailureGraceMs / 1000) *
      1000,
    tty: k8s.getOptionalBoolean('tty') ?? defaults.tty,
  };
}

function readConnection(k8s: Config): KubernetesConnection {
  const context = k8s.getOptionalString('context');
  const kubeconfigPath = k8s.getOptionalString('kubeconfigPath');
  if (k8s.getOptionalBoolean('inCluster')) {
    if (kubeconfigPath) {
      throw new Error(
        'releaseCommands.kubernetes: set inCluster or kubeconfigPath, not both',
      );
    }
    return { type: 'inCluster' };
  }
  if (kubeconfigPath) return { type: 'file', path: kubeconfigPath, context };
  return { type: 'default', context };
}
