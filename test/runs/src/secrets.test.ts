import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { labelledContainers, ofRuns, runsApi } from './runs';

jest.setTimeout(10 * 60_000);

const DEPLOYS = 50;

/**
 * Simultaneous deploys of different entities, each passing its own secret
 * that its command checks inside its container: a run claimed before its
 * secrets were in place would fail its check (or be failed for them).
 */
describe.each(['sqlite', 'postgres'] as const)(
  'simultaneous deploys with their own secrets, on %s',
  database => {
    let docker: Docker;
    let image: string;
    let backend: BackendProcess;

    beforeAll(async () => {
      docker = await requireDocker();
      image = await buildBusyboxImage(docker);
      // Room for all of them at once, so that claims run while the other
      // deploys are still being accepted.
      backend = await startBackendProcess({
        database,
        releaseCommands: { runs: { maxConcurrent: DEPLOYS } },
      });
    });

    afterAll(async () => {
      await backend?.stop();
    });

    it(`runs each of ${DEPLOYS} deploys with its own secret`, async () => {
      const api = runsApi(backend);
      const suffix = randomBytes(3).toString('hex');
      const entity = (e: number) => `secret-${suffix}-${e}`;
      const secret = (e: number) => `value-for-${entity(e)}`;
      // In the catalog in one batch rather than one by one in setCommands.
      await backend.registerComponents(
        Array.from({ length: DEPLOYS }, (_, e) => entity(e)),
      );
      for (let e = 0; e < DEPLOYS; e++) {
        await api.setCommands(entity(e), [
          {
            label: 'Check secret',
            command: `test "$MY_SECRET" = "${secret(e)}"`,
          },
        ]);
      }

      const startedAt = Date.now();
      const created = await Promise.all(
        Array.from({ length: DEPLOYS }, (_, e) =>
          api.deploy(entity(e), {
            image,
            environment: 'production',
            env: { MY_SECRET: secret(e) },
          }),
        ),
      );
      const runs = await Promise.all(
        created.map(run => api.waitForEnd(run.id, 5 * 60_000)),
      );
      const tookMs = Date.now() - startedAt;

      const outcomes = runs.map(run => `${run.status} ${run.reason ?? ''}`);
      const passed = outcomes.filter(o => o.startsWith('succeeded')).length;
      process.stdout.write(
        `${database}: ${passed}/${DEPLOYS} deploys passed their own secret check in ${tookMs} ms\n`,
      );
      expect(outcomes).toEqual(Array(DEPLOYS).fill('succeeded '));
      expect(runs.map(run => run.envKeys)).toEqual(
        Array(DEPLOYS).fill(['MY_SECRET']),
      );
      const logs = await Promise.all(runs.map(run => api.log(run.id)));
      logs.forEach((log, e) => {
        expect(log).toContain('Variables: MY_SECRET (values are masked');
        expect(log).not.toContain(secret(e));
      });
      expect(
        await labelledContainers(docker, ofRuns(runs.map(run => run.id))),
      ).toEqual([]);
    });
  },
);
