import Docker from 'dockerode';
import { CONTAINER_LABEL } from './containerLabels';
import { DockerEngine } from './DockerEngine';

/**
 * Removes the containers that runs left behind (their backend stopped, or
 * the engine failed before the step could remove them). Only containers
 * carrying our labels are looked at, so other workloads on a shared engine
 * are never touched.
 */
export class DockerLeftoverReaper {
  constructor(
    private readonly engine: DockerEngine,
    /** The time expiries are compared with. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Removes our containers whose run is not alive, as `isAlive` says, or
   * whose expiry has passed; returns their ids.
   */
  async removeLeftovers(options: {
    isAlive(runId: string): Promise<boolean>;
  }): Promise<string[]> {
    const { docker } = this.engine;
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.engine.call(abortSignal =>
        docker.listContainers({
          all: true,
          filters: { label: [`${CONTAINER_LABEL.managed}=true`] },
          abortSignal,
        }),
      );
    } catch (error) {
      throw this.engine.error(error, 'engine', 'Listing containers failed');
    }
    const removed: string[] = [];
    for (const info of containers) {
      // An unparseable expiry counts as passed: the container is ours anyway.
      const expired = !(
        Date.parse(info.Labels[CONTAINER_LABEL.expiresAt]) > this.now()
      );
      const runId = info.Labels[CONTAINER_LABEL.run];
      if (expired || !runId || !(await options.isAlive(runId))) {
        try {
          await this.engine.removeContainer(docker.getContainer(info.Id));
        } catch (error) {
          throw this.engine.error(
            error,
            'engine',
            `Removing container ${info.Id} failed`,
          );
        }
        removed.push(info.Id);
      }
    }
    return removed;
  }
}
