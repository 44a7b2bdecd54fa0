import { Config } from '@backstage/config';
import {
  ReleaseCommandExecutor,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import {
  KubernetesCluster,
  kubernetesCluster,
  loadKubeConfig,
} from './KubernetesCluster';
import { kubernetesError } from './kubernetesErrors';
import { KubernetesLeftoverReaper } from './KubernetesLeftoverReaper';
import { KubernetesStepRunner } from './KubernetesStepRunner';
import {
  DEFAULT_KUBERNETES_EXECUTOR_OPTIONS,
  KubernetesExecutorOptions,
  readKubernetesExecutorOptions,
} from './readKubernetesExecutorOptions';
import { RunSecrets } from './RunSecrets';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * Runs each step as a Kubernetes Job (one pod, never retried), with the
 * run's env in a Secret of its own, and deletes the Job once its log has
 * been read: the step runner, the run's Secrets and the leftover reaper
 * behind the executor interface.
 */
export class KubernetesExecutor implements ReleaseCommandExecutor {
  readonly description: string;
  private readonly runner: KubernetesStepRunner;
  private readonly secrets: RunSecrets;
  private readonly reaper: KubernetesLeftoverReaper;

  /** From `releaseCommands.kubernetes`. */
  static fromConfig(config: Config): KubernetesExecutor {
    const options = readKubernetesExecutorOptions(config);
    return new KubernetesExecutor({
      kubeConfig: loadKubeConfig(options.connection),
      options,
    });
  }

  constructor(args: {
    kubeConfig: KubeConfig;
    options?: Partial<Omit<KubernetesExecutorOptions, 'connection'>>;
  }) {
    const options: KubernetesExecutorOptions = {
      connection: { type: 'default' },
      ...DEFAULT_KUBERNETES_EXECUTOR_OPTIONS,
      ...args.options,
    };
    const cluster: KubernetesCluster = kubernetesCluster(args.kubeConfig);
    const server = args.kubeConfig.getCurrentCluster()?.server ?? 'no cluster';
    this.description = `kubernetes (${server}, namespace ${options.namespace})`;
    this.secrets = new RunSecrets(cluster.core, options.namespace);
    this.runner = new KubernetesStepRunner(cluster, this.secrets, options);
    this.reaper = new KubernetesLeftoverReaper(cluster, options.namespace);
  }

  /**
   * Resolves nothing: the cluster pulls the image as each step's pod
   * starts, so every step runs the reference as asked, and image labels
   * (declared commands) are not read.
   */
  async prepareImage(options: {
    image: string;
    log(line: string): void;
  }): Promise<void> {
    options.log(
      `The cluster pulls ${options.image} as each step starts; commands declared in the image's labels are not run by this executor`,
    );
  }

  runStep(request: StepRequest): Promise<StepResult> {
    return this.runner.runStep(request);
  }

  removeLeftovers(options: {
    isAlive(runId: string): Promise<boolean>;
  }): Promise<string[]> {
    return this.reaper.removeLeftovers(options);
  }

  /** Deletes the run's Secret. */
  async endRun(runId: string): Promise<void> {
    try {
      await this.secrets.delete(runId);
    } catch (error) {
      throw kubernetesError(
        error,
        'engine',
        "Deleting the run's Secret failed",
      );
    }
  }
}
