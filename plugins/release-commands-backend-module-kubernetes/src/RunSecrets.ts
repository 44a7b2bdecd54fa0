import { CoreV1Api, V1Job, V1Secret } from '@kubernetes/client-node';
import { StepWorkloadLabels } from '@release-commands/backstage-plugin-release-commands-node';
import { hasCode, unlessGone } from './kubernetesErrors';
import { runSecretName, workloadMetadata } from './kubernetesLabels';

/**
 * One Secret per run holding the env its steps get (through `envFrom`), so
 * that no value is ever written into a Job or pod spec. The running step's
 * Job owns it, so that the cluster deletes it with that Job should this
 * backend be gone; between steps it has no owner (the garbage collector
 * would delete a Secret whose owners are all gone), and `delete` removes
 * it when the run ends.
 */
export class RunSecrets {
  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
  ) {}

  /** Writes the step's env into the run's Secret, ownerless; returns it. */
  async prepare(
    labels: StepWorkloadLabels,
    env: Record<string, string>,
  ): Promise<V1Secret> {
    const { step, ...runLabels } = labels;
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: runSecretName(labels.runId),
        ...workloadMetadata(runLabels),
      },
      type: 'Opaque',
      stringData: env,
    };
    await this.upsert(body, 'create');
    return body;
  }

  /**
   * Makes the step's Job the Secret's owner; writes it again should the
   * garbage collector have deleted it meanwhile (its pod waits for it).
   */
  async ownBy(secret: V1Secret, job: V1Job): Promise<void> {
    const owned: V1Secret = {
      ...secret,
      metadata: {
        ...secret.metadata,
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: job.metadata!.name!,
            uid: job.metadata!.uid!,
          },
        ],
      },
    };
    await this.upsert(owned, 'replace');
  }

  async delete(runId: string): Promise<void> {
    await unlessGone(
      this.core.deleteNamespacedSecret({
        name: runSecretName(runId),
        namespace: this.namespace,
      }),
    );
  }

  /**
   * Creates the Secret, or replaces the run's: without owners before a
   * step, so that the deletion of the last step's Job does not take it
   * along. A Secret deleted meanwhile is created again.
   */
  private async upsert(body: V1Secret, first: 'create' | 'replace') {
    const { namespace } = this;
    const name = body.metadata!.name!;
    const create = () => this.core.createNamespacedSecret({ namespace, body });
    const replace = () =>
      this.core.replaceNamespacedSecret({ name, namespace, body });
    // Each answers the other's miss: 409 (it exists) and 404 (it is gone).
    const attempts =
      first === 'create'
        ? [create, replace, create]
        : [replace, create, replace];
    for (const [i, attempt] of attempts.entries()) {
      try {
        await attempt();
        return;
      } catch (error) {
        const miss = hasCode(error, attempt === create ? 409 : 404);
        if (!miss || i === attempts.length - 1) throw error;
      }
    }
  }
}
