import type { RunPlan } from '@release-commands/backstage-plugin-release-commands-common';
import {
  BackendProcess,
  findRepositoryRoot,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { labelledContainers, runsApi, waitFor } from './runs';

jest.setTimeout(5 * 60_000);

/** The demo service's commands, as the reference document has them. */
const DEMO_COMMANDS = [
  { label: 'Migrate database', command: './manage.sh migrate' },
  { label: 'Security checks', command: './manage.sh check-security' },
  { label: 'Fix tree', command: './manage.sh fix-tree' },
];

/**
 * Check only: a dry run through the backend's API on the demo image, which
 * makes the image available and looks each step's executable up in it,
 * and writes, starts and locks nothing.
 */
describe.each(['sqlite', 'postgres'] as const)(
  'a dry run on the demo image, on %s',
  database => {
    let docker: Docker;
    let backend: BackendProcess;
    let api: ReturnType<typeof runsApi>;
    let demo: string;

    beforeAll(async () => {
      docker = await requireDocker();
      demo = `release-commands-test/demo-shop-${randomBytes(3).toString(
        'hex',
      )}:1`;
      execFileSync(
        'bash',
        [path.join(findRepositoryRoot(), 'examples/demo-shop/build.sh'), demo],
        { stdio: 'pipe' },
      );
      backend = await startBackendProcess({ database });
      api = runsApi(backend);
    });

    afterAll(async () => {
      await backend?.stop();
      await docker
        ?.getImage(demo)
        .remove()
        .catch(() => {});
    });

    const check = (entity: string, body: Record<string, unknown> = {}) =>
      api.call<RunPlan>(`/entities/component/default/${entity}/runs`, {
        method: 'POST',
        body: JSON.stringify({ image: demo, ...body, dryRun: true }),
      });

    /** Everything that would show that a run was written or started. */
    async function traces(entity: string) {
      const page = await api.call<{ runs: unknown[] }>(
        `/entities/component/default/${entity}/runs`,
      );
      const containers = await labelledContainers(
        docker,
        labels =>
          labels['org.release-commands.entity'] ===
          `component:default/${entity}`,
      );
      return { runs: page.runs, containers };
    }

    it('answers a clean plan with the resolved image, and writes and starts nothing', async () => {
      const entity = `dry-clean-${randomBytes(3).toString('hex')}`;
      await api.setCommands(entity, DEMO_COMMANDS);

      const plan = await check(entity);
      const { Id } = await docker.getImage(demo).inspect();
      expect(plan).toEqual({
        dryRun: true,
        ok: true,
        entityRef: `component:default/${entity}`,
        environment: 'default',
        image: demo,
        imageId: Id,
        imageDigest: null,
        steps: DEMO_COMMANDS.map((command, position) => ({
          position,
          ...command,
          source: 'user',
          timeoutSeconds: 1800,
          executable: './manage.sh',
          found: './manage.sh',
        })),
        problems: [],
      });
      expect(await traces(entity)).toEqual({ runs: [], containers: [] });

      // The lock is untouched: a run is accepted at once, and runs.
      const run = await api.deploy(entity, { image: demo });
      expect((await api.waitForEnd(run.id)).status).toBe('failed');
    });

    it('names each executable the image does not have, with its step, and writes and starts nothing', async () => {
      const entity = `dry-missing-${randomBytes(3).toString('hex')}`;
      await api.setCommands(entity, [
        DEMO_COMMANDS[0],
        { label: 'Security checks', command: './manage-py.sh check-security' },
        { label: 'Dependencies', command: 'python3 -m pip check' },
      ]);

      const plan = await check(entity);
      expect(plan.ok).toBe(false);
      expect(plan.steps.map(step => [step.executable, step.found])).toEqual([
        ['./manage.sh', './manage.sh'],
        ['./manage-py.sh', false],
        ['python3', false],
      ]);
      expect(plan.problems).toEqual([
        `Step 2 of 3, "Security checks": ./manage-py.sh is not in the image ${demo} (command -v found nothing there, as the step would run).`,
        `Step 3 of 3, "Dependencies": python3 is not in the image ${demo} (command -v found nothing there, as the step would run).`,
      ]);
      expect(await traces(entity)).toEqual({ runs: [], containers: [] });
    });

    it('names the run that holds the lock, and leaves it as it was', async () => {
      const entity = `dry-locked-${randomBytes(3).toString('hex')}`;
      await api.setCommands(entity, [
        { label: 'Migrate database', command: 'echo started; sleep 3600' },
      ]);
      const active = await api.deploy(entity, {
        image: demo,
        environment: 'production',
      });
      await waitFor(
        async () => (await api.log(active.id)).includes('started\n'),
        'the run to start',
      );
      const before = await api.getRun(active.id);

      const plan = await check(entity, { environment: 'production' });
      expect(plan.ok).toBe(false);
      expect(plan.problems).toEqual([
        expect.stringMatching(
          new RegExp(
            `^component:default/${entity} already has an active run in environment "production": ${active.id} \\(running since .*\\); wait for it to end or cancel it$`,
          ),
        ),
      ]);
      // Another environment's lock is its own.
      expect((await check(entity, { environment: 'staging' })).ok).toBe(true);

      const after = await api.getRun(active.id);
      expect(after).toEqual(before);
      const containers = await labelledContainers(docker, active.id);
      expect(containers.map(container => container.State)).toEqual(['running']);
      await api.call(`/runs/${active.id}/cancel`, { method: 'POST' });
      expect((await api.waitForEnd(active.id)).status).toBe('cancelled');
    });
  },
);
