export interface Config {
  releaseCommands?: {
    /**
     * Runs each release command as a Kubernetes Job instead of a Docker
     * container, once the Kubernetes module is installed.
     */
    kubernetes?: {
      /**
       * A kubeconfig file to connect with. Unset, the client looks where
       * kubectl does (`KUBECONFIG`, `~/.kube/config`), and falls back to
       * the pod's service account when the backend runs in a cluster.
       * @visibility backend
       */
      kubeconfigPath?: string;
      /**
       * The kubeconfig context to use; unset, its current context.
       * @visibility backend
       */
      context?: string;
      /**
       * Connect with the service account of the pod the backend runs in,
       * whatever the kubeconfig files say.
       * @visibility backend
       */
      inCluster?: boolean;
      /**
       * Where the Jobs, their pods and the runs' Secrets live. Defaults to
       * `default`.
       * @visibility backend
       */
      namespace?: string;
      /**
       * The service account of the steps' pods; its token is not mounted.
       * @visibility backend
       */
      serviceAccountName?: string;
      /**
       * The step container's requests and limits, as in a pod spec, e.g.
       * `{ limits: { memory: 2Gi, cpu: '1' } }`.
       * @visibility backend
       */
      resources?: {
        /** @visibility backend */
        limits?: { [name: string]: string };
        /** @visibility backend */
        requests?: { [name: string]: string };
      };
      /**
       * The nodes the steps' pods may run on.
       * @visibility backend
       */
      nodeSelector?: { [label: string]: string };
      /**
       * Tolerations of the steps' pods, as in a pod spec.
       * @visibility backend
       */
      tolerations?: Array<{
        /** @visibility backend */
        key?: string;
        /** @visibility backend */
        operator?: string;
        /** @visibility backend */
        value?: string;
        /** @visibility backend */
        effect?: string;
        /** @visibility backend */
        tolerationSeconds?: number;
      }>;
      /**
       * Names of Secrets in the namespace with registry credentials for
       * pulling the images.
       * @visibility backend
       */
      imagePullSecrets?: string[];
      /**
       * Deep-merged into every step's pod template last (objects key by
       * key, lists of named items such as containers and volumes name by
       * name; the step's container is named `step`).
       * @visibility backend
       */
      podTemplatePatch?: object;
      /**
       * How long a stopped step (cancel, timeout) gets between SIGTERM and
       * SIGKILL, in seconds. Defaults to 10.
       * @visibility backend
       */
      stopGracePeriodSeconds?: number;
      /**
       * How long a step's pod may stay unable to start (image pull errors,
       * configuration errors, unschedulable) before the step fails with
       * the cluster's message, in seconds. Defaults to 60.
       * @visibility backend
       */
      startFailureGraceSeconds?: number;
      /**
       * How long the cluster keeps a finished Job that this backend could
       * not delete, in seconds. Defaults to 3600.
       * @visibility backend
       */
      ttlSecondsAfterFinished?: number;
      /**
       * How long the Kubernetes API may keep failing while a step runs
       * before the step fails, in seconds. Defaults to 60.
       * @visibility backend
       */
      apiFailureGraceSeconds?: number;
      /**
       * Whether each command gets a terminal (one ordered, line-buffered
       * stream) unless the step says otherwise. Defaults to true.
       * @visibility backend
       */
      tty?: boolean;
    };
  };
}
