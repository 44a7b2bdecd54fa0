import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { labelledContainers, runsApi } from './runs';

jest.setTimeout(10 * 60_000);

describe('the global cap on concurrent runs, on SQLite', () => {
  let docker: Docker;
  let image: string;
  let backend: BackendProcess;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    backend = await startBackendProcess({
      database: 'sqlite',
      releaseCommands: { runs: { maxConcurrent: 4 } },
    });
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it('never runs more than 4 containers for 20 deploys of different entities at once, and finishes them all in order', async () => {
    const api = runsApi(backend);
    // Only this suite's entities count: other backends may share the engine.
    const suffix = Math.random().toString(36).slice(2, 8);
    const entity = (e: number) => `cap-${suffix}-${e}`;
    const ours = (labels: Record<string, string>) =>
      labels['org.release-commands.entity']?.startsWith(
        `component:default/cap-${suffix}-`,
      );
    // In the catalog in one batch rather than one by one in setCommands.
    await backend.registerComponents(
      Array.from({ length: 20 }, (_, e) => entity(e)),
    );
    for (let e = 0; e < 20; e++) {
      await api.setCommands(entity(e), [
        { label: 'Migrate', command: 'sleep 1; echo migrated' },
      ]);
    }

    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const running = (await labelledContainers(docker, ours)).filter(
          c => c.State === 'running',
        );
        most = Math.max(most, running.length);
        await new Promise(resolve => setTimeout(resolve, 50));
      }
    })();

    const created = await Promise.all(
      Array.from({ length: 20 }, (_, e) =>
        api.deploy(entity(e), { image, environment: 'production' }),
      ),
    );
    const runs = await Promise.all(created.map(run => api.waitForEnd(run.id)));
    sampling = false;
    await sampler;

    expect(runs.map(r => r.status)).toEqual(Array(20).fill('succeeded'));
    expect(most).toBeLessThanOrEqual(4);
    // The cap was used, not just respected.
    expect(most).toBeGreaterThanOrEqual(3);
    // Runs that had to queue started in the order they were accepted.
    const key = (r: { createdAt: string; id: string }) =>
      `${r.createdAt} ${r.id}`;
    const byCreation = [...runs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const queuedStarts = byCreation.slice(4).map(r => Date.parse(r.startedAt!));
    expect(queuedStarts).toEqual([...queuedStarts].sort((a, b) => a - b));
    expect(await labelledContainers(docker, ours)).toEqual([]);
  });
});
