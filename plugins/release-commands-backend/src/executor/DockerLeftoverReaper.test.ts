import Docker from 'dockerode';
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

  /**
   * A reaper whose clock runs an hour ahead: what it finds expired, the
   * reapers of other suites on the same engine, on the true clock, still
   * leave alone.
   */
  function createReaper() {
    return new DockerLeftoverReaper(
      new DockerEngine(docker, 'test engine'),
      () => Date.now() + 3600_000,
    );
  }

  describe('removeLeftovers', () => {
    async function createLabelled(labels: Record<string, string>) {
      return docker.createContainer({
        Image: image,
        Cmd: ['/bin/true'],
        Labels: labels,
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
