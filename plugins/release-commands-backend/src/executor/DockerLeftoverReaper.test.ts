import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { useTestEngine } from '../__testUtils__/useTestEngine';
import { DockerEngine } from './DockerEngine';
import { DockerLeftoverReaper } from './DockerLeftoverReaper';

jest.setTimeout(60_000);

describe('DockerLeftoverReaper', () => {
  const engine = useTestEngine();
  let docker: Docker;
  let image: string;

  beforeAll(() => {
    ({ docker, image } = engine);
  });

  /** Marks the containers of this suite's test, and only those. */
  const SCOPE_LABEL = 'org.release-commands.test-scope';
  const scope = randomUUID();

  /**
   * A reaper whose clock runs an hour ahead, so that a container can be
   * expired for it alone: the reapers of other suites on the same engine, on
   * the true clock, leave that container to it. The other way round, every
   * container of a concurrent suite expires within that hour, and this reaper
   * would remove it (a forced removal, a SIGKILL their runs never sent), so
   * its engine lists the containers of this test only. Its own label filter
   * still applies on top.
   */
  function createReaper() {
    const listContainers = (options?: Docker.ContainerListOptions) => {
      const filters = (options?.filters ?? {}) as Record<string, string[]>;
      return docker.listContainers({
        ...options,
        filters: {
          ...filters,
          label: [...(filters.label ?? []), `${SCOPE_LABEL}=${scope}`],
        },
      });
    };
    const scoped: Docker = Object.create(docker, {
      listContainers: { value: listContainers },
    });
    return new DockerLeftoverReaper(
      new DockerEngine(scoped, 'test engine'),
      () => Date.now() + 3600_000,
    );
  }

  describe('removeLeftovers', () => {
    async function createLabelled(labels: Record<string, string>) {
      return docker.createContainer({
        Image: image,
        Cmd: ['/bin/true'],
        Labels: { ...labels, [SCOPE_LABEL]: scope },
        HostConfig: { NetworkMode: 'none' },
      });
    }

    function ourLabels(runId: string, expiresAt: Date) {
      return {
        'org.release-commands.managed': 'true',
        'org.release-commands.run': runId,
        'org.release-commands.expires-at': expiresAt.toISOString(),
      };
    }

    it('removes containers of dead runs and expired ones, and nothing else', async () => {
      // Past the reaper's clock only (see createReaper).
      const soon = new Date(Date.now() + 1800_000);
      const later = new Date(Date.now() + 2 * 3600_000);
      const deadRun = engine.newRunId();
      const aliveRun = engine.newRunId();
      const expiredRun = engine.newRunId();
      const foreignRun = engine.newRunId();
      const dead = await createLabelled(ourLabels(deadRun, later));
      const alive = await createLabelled(ourLabels(aliveRun, later));
      const expired = await createLabelled(ourLabels(expiredRun, soon));
      // Same run label, but not marked as ours.
      const foreign = await createLabelled({
        'org.release-commands.run': foreignRun,
      });

      try {
        const asked: string[] = [];
        const removed = await createReaper().removeLeftovers({
          // Every other run counts as alive, so containers of concurrent
          // test runs on the same engine are left alone.
          isAlive: async runId => {
            asked.push(runId);
            return runId !== deadRun;
          },
        });

        expect(removed).toEqual(expect.arrayContaining([dead.id, expired.id]));
        expect(removed).not.toContain(alive.id);
        expect(removed).not.toContain(foreign.id);
        expect(asked).not.toContain(foreignRun);
        expect(await engine.containerExists(dead.id)).toBe(false);
        expect(await engine.containerExists(expired.id)).toBe(false);
        expect(await engine.containerExists(alive.id)).toBe(true);
        expect(await engine.containerExists(foreign.id)).toBe(true);
      } finally {
        await alive.remove({ force: true });
        await foreign.remove({ force: true });
      }
    });
  });
});
