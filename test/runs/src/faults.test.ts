import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  restartDockerEngine,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { labelledContainers, runsApi, waitFor } from './runs';

jest.setTimeout(10 * 60_000);

/**
 * Faults around a running deploy: the backend process killed outright, and
 * the Docker engine restarted. Each must leave the run in a true, final state
 * with its log kept, remove the run's container, and never touch a
 * container that is not the plugin's.
 */
describe.each(['sqlite', 'postgres'] as const)('faults on %s', database => {
  let docker: Docker;
  let image: string;
  let backend: BackendProcess;
  let api: ReturnType<typeof runsApi>;
  let foreign: Docker.Container;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    backend = await startBackendProcess({ database });
    api = runsApi(backend);
    // Both tests' entities in the catalog in one batch.
    await backend.registerComponents(['killed', 'engine']);
    foreign = await docker.createContainer({
      Image: image,
      Cmd: ['sleep', '3600'],
      Labels: { 'org.example.not-release-commands': 'true' },
      HostConfig: { NetworkMode: 'none', Init: true },
    });
    await foreign.start();
  });

  afterAll(async () => {
    await backend?.stop();
    await foreign?.remove({ force: true }).catch(() => {});
  });

  async function deployAndWaitForOutput(entity: string) {
    await api.setCommands(entity, [
      { label: 'Migrate', command: 'echo started; sleep 3600' },
      { label: 'After', command: 'echo never' },
    ]);
    const run = await api.deploy(entity, { image, environment: 'production' });
    await waitFor(
      async () => (await api.log(run.id)).includes('started\n'),
      'the command to start',
    );
    return run;
  }

  it('interrupts a run whose backend was killed with SIGKILL, once the backend is back', async () => {
    const run = await deployAndWaitForOutput('killed');
    expect(await labelledContainers(docker, run.id)).toHaveLength(1);

    await backend.kill('SIGKILL');
    // Nobody is left to stop it: the container outlives its backend.
    expect(
      (await labelledContainers(docker, run.id)).map(c => c.State),
    ).toEqual(['running']);

    const restartedAt = Date.now();
    await backend.restart();
    const ended = await api.waitForEnd(run.id, 60_000);
    const recoveredAfterMs = Date.now() - restartedAt;
    expect(ended).toMatchObject({
      status: 'interrupted',
      steps: [{ status: 'interrupted' }, { status: 'skipped' }],
    });
    expect(ended.reason).toMatch(
      /not retried because a command may have been partly applied/,
    );
    await waitFor(
      async () => (await labelledContainers(docker, run.id)).length === 0,
      'the orphaned container to be removed',
    );
    const log = await api.log(run.id);
    expect(log).toContain('started\n');
    expect(log).toContain('[1/2] Migrate interrupted\n[2/2] After skipped\n');
    expect(log).toMatch(
      /Release commands interrupted: .* The deployment must not proceed\.\n$/,
    );
    expect((await foreign.inspect()).State.Running).toBe(true);
    // eslint-disable-next-line no-console
    console.log(
      `${database}: run interrupted ${recoveredAfterMs} ms after the backend restart began`,
    );

    // The entity is free to deploy again.
    await api.setCommands('killed', [{ label: 'Check', command: 'echo ok' }]);
    const again = await api.deploy('killed', {
      image,
      environment: 'production',
    });
    expect((await api.waitForEnd(again.id)).status).toBe('succeeded');
  });

  it('ends a run in a final state when the Docker engine restarts under it', async () => {
    const run = await deployAndWaitForOutput('engine');
    await restartDockerEngine(docker);

    const ended = await api.waitForEnd(run.id, 120_000);
    expect(['failed', 'interrupted']).toContain(ended.status);
    expect(ended.steps[0].status).not.toBe('running');
    expect(ended.steps[1].status).toBe('skipped');
    expect(ended.reason).toMatch(/SIGTERM|SIGKILL|Docker engine/);
    // eslint-disable-next-line no-console
    console.log(
      `${database}: after the engine restart: ${ended.status}: ${ended.reason}`,
    );
    await waitFor(
      async () => (await labelledContainers(docker, run.id)).length === 0,
      'the container of the run to be removed',
    );
    const log = await api.log(run.id);
    expect(log).toContain('started\n');
    expect(log.trimEnd().split('\n').pop()).toMatch(
      /^Release commands (failed|interrupted): .* The deployment must not proceed\.$/,
    );
    // The engine stopped it, but it is still there: not ours to remove.
    expect((await foreign.inspect()).Id).toBe(foreign.id);
    await foreign.start();

    // Runs work again once the engine is back.
    await api.setCommands('engine', [{ label: 'Check', command: 'echo ok' }]);
    const again = await api.deploy('engine', {
      image,
      environment: 'production',
    });
    expect((await api.waitForEnd(again.id)).status).toBe('succeeded');
  });
});
