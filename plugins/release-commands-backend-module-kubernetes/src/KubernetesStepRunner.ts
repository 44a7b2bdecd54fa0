import {
  V1ContainerStateTerminated,
  V1Job,
  V1Secret,
} from '@kubernetes/client-node';
import {
  ExecutorError,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import { buildStepJob, STEP_CONTAINER } from './buildStepJob';
import { KubernetesCluster } from './KubernetesCluster';
import { hasCode, kubernetesError, unlessGone } from './kubernetesErrors';
import { PodLogFollower } from './PodLogFollower';
import {
  hasStarted,
  StartProblem,
  startProblem,
  terminatedState,
} from './podStates';
import { PodWatch } from './PodWatch';
import { KubernetesExecutorOptions } from './readKubernetesExecutorOptions';
import { RunSecrets } from './RunSecrets';

/** Exit code of a process killed by SIGKILL. */
const KILLED = 137;

/**
 * A stopped step's pod is given its grace period and this much more to
 * terminate before the step ends without waiting for it.
 */
const STOP_SLACK_MS = 30_000;

/** How a pod ended: its container's terminated state, or gone without one. */
type PodEnd = { terminated?: V1ContainerStateTerminated; gone: boolean };

/**
 * Runs one step as a Job: its env written to the run's Secret first, its
 * pod watched until it starts (or fails to, which fails the step with the
 * cluster's reason once it has lasted the configured wait), its log
 * followed, its verdict read from the container's terminated state, and the
 * Job deleted afterwards, once its whole log has been handed on.
 */
export class KubernetesStepRunner {
  constructor(
    private readonly cluster: KubernetesCluster,
    private readonly secrets: RunSecrets,
    private readonly options: KubernetesExecutorOptions,
  ) {}

  async runStep(request: StepRequest): Promise<StepResult> {
    const { namespace } = this.options;
    let secret: V1Secret;
    try {
      secret = await this.secrets.prepare(request.labels, request.env);
    } catch (error) {
      throw kubernetesError(error, 'engine', "Writing the run's Secret failed");
    }
    let job: V1Job;
    try {
      job = await this.cluster.batch.createNamespacedJob({
        namespace,
        body: buildStepJob(request, this.options, secret.metadata!.name!),
      });
    } catch (error) {
      // 422: the cluster refused the Job as made (a bad patch, a policy).
      throw kubernetesError(
        error,
        hasCode(error, 422) ? 'command' : 'engine',
        `Creating a Job for ${request.image} in namespace ${namespace} failed`,
      );
    }
    const name = job.metadata!.name!;
    const watch = new PodWatch(
      this.cluster.kc,
      this.cluster.core,
      namespace,
      `controller-uid=${job.metadata!.uid}`,
    );
    let deleted = false;
    try {
      request.onStarted?.(name);
      try {
        await this.secrets.ownBy(secret, job);
      } catch (error) {
        throw kubernetesError(
          error,
          'engine',
          "Owning the run's Secret failed",
        );
      }
      watch.start();
      const end = await this.run(watch, request, async () => {
        await this.deleteJob(name, 'Foreground');
        deleted = true;
      });
      if (end.gone && !end.terminated && !deleted) {
        throw new ExecutorError(
          `The pod of Job ${name} was deleted before its command ended`,
          'engine',
        );
      }
      return {
        exitCode: end.terminated?.exitCode ?? KILLED,
        // The kubelet's reason, which a command exiting 0 can carry too.
        oomKilled: end.terminated?.reason === 'OOMKilled',
        workloadId: name,
      };
    } finally {
      watch.stop();
      if (!deleted) {
        await this.deleteJob(name, 'Background').catch(() => {
          // Its labels let removeLeftovers find it later; the cluster's
          // ttlSecondsAfterFinished removes it anyway.
        });
      }
    }
  }

  /** Waits for the pod's start, its log and its end; stops it on abort. */
  private async run(
    watch: PodWatch,
    request: StepRequest,
    stop: () => Promise<void>,
  ): Promise<PodEnd> {
    const { signal } = request;
    const end = (): PodEnd | undefined => {
      const terminated = terminatedState(watch.pod);
      return terminated || watch.gone
        ? { terminated, gone: watch.gone }
        : undefined;
    };
    try {
      await this.waitForStart(watch, signal);
    } catch (error) {
      if (!signal.aborted) throw error;
      return this.stopped(watch, stop, end);
    }
    if (!hasStarted(watch.pod)) return { gone: true };
    const follower = new PodLogFollower(
      this.cluster.kc,
      {
        namespace: this.options.namespace,
        pod: watch.pod!.metadata!.name!,
        container: STEP_CONTAINER,
      },
      line => request.onOutput('stdout', Buffer.from(line)),
    );
    const giveUp = new AbortController();
    const logs = follower.follow(
      {
        terminated: () => end() !== undefined,
        nextChange: ms => watch.nextChange(ms),
      },
      giveUp.signal,
    );
    try {
      let ended: PodEnd;
      try {
        ended = await watch.until(() => {
          this.checkApi(watch);
          return end();
        }, signal);
      } catch (error) {
        if (!signal.aborted) throw error;
        ended = await this.stopped(watch, stop, end);
        // A pod that outlived its grace: its log is read no longer.
        if (!end()) giveUp.abort();
      }
      await logs;
      return ended;
    } finally {
      giveUp.abort();
    }
  }

  /**
   * Resolves once the container runs or has run. Fails with the cluster's
   * reason when the pod cannot start (image pull errors, bad configuration,
   * unschedulable) for longer than the configured wait.
   */
  private async waitForStart(watch: PodWatch, signal: AbortSignal) {
    let problem: (StartProblem & { since: number }) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const graceMs = this.options.startFailureGraceMs;
    try {
      await watch.until(() => {
        this.checkApi(watch);
        if (hasStarted(watch.pod) || watch.gone) return true;
        const now = startProblem(watch.pod);
        if (!now) {
          problem = undefined;
          return undefined;
        }
        if (problem?.kind !== now.kind) {
          problem = { ...now, since: Date.now() };
        }
        const left = graceMs - (Date.now() - problem.since);
        if (left > 0) {
          // Looked at again when the wait is over, or at the next change.
          // A timer may fire a little before Date.now() says it is due,
          // so each look that finds time left sets one for what is left.
          clearTimeout(timer);
          timer = setTimeout(() => watch.changed(), left);
          return undefined;
        }
        throw new ExecutorError(describeProblem(now, watch), now.kind);
      }, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fails the step once the API has failed for longer than its grace. */
  private checkApi(watch: PodWatch) {
    const { failing } = watch;
    if (
      failing &&
      Date.now() - failing.since >= this.options.apiFailureGraceMs
    ) {
      throw kubernetesError(
        failing.error,
        'engine',
        `The Kubernetes API at ${
          this.cluster.kc.getCurrentCluster()?.server
        } failed for ${Math.round(
          (Date.now() - failing.since) / 1000,
        )}s while watching the step's pod`,
      );
    }
  }

  /** Deletes the Job, then waits (within its grace) for the pod to end. */
  private async stopped(
    watch: PodWatch,
    stop: () => Promise<void>,
    end: () => PodEnd | undefined,
  ): Promise<PodEnd> {
    try {
      await stop();
    } catch (error) {
      throw kubernetesError(error, 'engine', 'Deleting the Job failed');
    }
    if (!watch.pod) return { gone: true };
    const waitMs = this.options.stopGracePeriodSeconds * 1000 + STOP_SLACK_MS;
    try {
      return await watch.until(end, AbortSignal.timeout(waitMs));
    } catch {
      return { gone: true };
    }
  }

  private async deleteJob(name: string, propagationPolicy: string) {
    await unlessGone(
      this.cluster.batch.deleteNamespacedJob({
        name,
        namespace: this.options.namespace,
        propagationPolicy,
        gracePeriodSeconds: this.options.stopGracePeriodSeconds,
      }),
    );
  }
}

function describeProblem(problem: StartProblem, watch: PodWatch): string {
  const pod = watch.pod?.metadata?.name;
  const what =
    problem.kind === 'image'
      ? 'Kubernetes could not pull the image'
      : 'Kubernetes could not start the command';
  return `${what} (pod ${pod}): ${problem.reason}${
    problem.message ? `: ${problem.message}` : ''
  }`;
}
