import { V1ObjectMeta } from '@kubernetes/client-node';
import { KubernetesCluster } from './KubernetesCluster';
import { kubernetesError, unlessGone } from './kubernetesErrors';
import {
  MANAGED_SELECTOR,
  WORKLOAD_ANNOTATION,
  WORKLOAD_LABEL,
} from './kubernetesLabels';

/**
 * Deletes the Jobs and Secrets that runs left behind (their backend
 * stopped, or the cluster failed before a step could delete its Job). Only
 * objects carrying our labels are looked at, so nothing else in the
 * namespace is ever touched.
 */
export class KubernetesLeftoverReaper {
  constructor(
    private readonly cluster: KubernetesCluster,
    private readonly namespace: string,
    /** The time expiries are compared with. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Deletes our Jobs and Secrets whose run is not alive, as `isAlive` says,
   * or whose expiry has passed; returns them as `job/NAME` and
   * `secret/NAME`.
   */
  async removeLeftovers(options: {
    isAlive(runId: string): Promise<boolean>;
  }): Promise<string[]> {
    const { batch, core } = this.cluster;
    const { namespace } = this;
    const alive = new Map<string, Promise<boolean>>();
    const isLeftover = async (meta: V1ObjectMeta | undefined) => {
      // An unparseable expiry counts as passed: the object is ours anyway.
      const expiresAt = Date.parse(
        meta?.annotations?.[WORKLOAD_ANNOTATION.expiresAt] ?? '',
      );
      const runId = meta?.labels?.[WORKLOAD_LABEL.run];
      if (!(expiresAt > this.now()) || !runId) return true;
      if (!alive.has(runId)) alive.set(runId, options.isAlive(runId));
      return !(await alive.get(runId));
    };
    const kinds = [
      {
        kind: 'Job',
        list: () =>
          batch.listNamespacedJob({
            namespace,
            labelSelector: MANAGED_SELECTOR,
          }),
        remove: (name: string) =>
          batch.deleteNamespacedJob({
            name,
            namespace,
            propagationPolicy: 'Background',
          }),
      },
      {
        kind: 'Secret',
        list: () =>
          core.listNamespacedSecret({
            namespace,
            labelSelector: MANAGED_SELECTOR,
          }),
        remove: (name: string) =>
          core.deleteNamespacedSecret({ name, namespace }),
      },
    ];
    const removed: string[] = [];
    for (const { kind, list, remove } of kinds) {
      let items: Array<{ metadata?: V1ObjectMeta }>;
      try {
        items = (await list()).items;
      } catch (error) {
        throw kubernetesError(error, 'engine', `Listing ${kind}s failed`);
      }
      for (const item of items) {
        if (!(await isLeftover(item.metadata))) continue;
        const name = item.metadata!.name!;
        try {
          await unlessGone(remove(name));
        } catch (error) {
          throw kubernetesError(
            error,
            'engine',
            `Deleting ${kind} ${name} failed`,
          );
        }
        removed.push(`${kind.toLowerCase()}/${name}`);
      }
    }
    return removed;
  }
}
