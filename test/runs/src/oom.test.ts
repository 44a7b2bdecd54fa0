import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { labelledContainers, ofRuns, runsApi } from './runs';

jest.setTimeout(15 * 60_000);

const OOM_RUNS = 50;
const PLAIN_KILLS = 10;
const AT_ONCE = 8;

// A program starts before it allocates; one that allocates in its first
// milliseconds can be killed before the engine watches the container for
// it (containerd arms that watch after the process started), and then the
// engine says nothing at all.
const ALLOCATE = 'sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1';

/**
 * Commands killed at their memory limit, many at once on a busy machine,
 * where the engine (Docker 20.10, cgroup v1) often learns of the kill only
 * after the exit: each must read as out of memory, and a command that
 * exits 137 on its own, alongside them, must not.
 */
describe.each(['sqlite', 'postgres'] as const)(
  'out of memory under load, on %s',
  database => {
    let docker: Docker;
    let image: string;
    let backend: BackendProcess;

    beforeAll(async () => {
      docker = await requireDocker();
      image = await buildBusyboxImage(docker);
      backend = await startBackendProcess({
        database,
        releaseCommands: {
          docker: { memory: '16m' },
          runs: { maxConcurrent: AT_ONCE },
        },
      });
    });

    afterAll(async () => {
      await backend?.stop();
    });

    it(`reports ${OOM_RUNS} of ${OOM_RUNS} as out of memory, and no plain exit 137 as such`, async () => {
      const api = runsApi(backend);
      const suffix = randomBytes(3).toString('hex');
      const oomEntity = (e: number) => `oom-${suffix}-${e}`;
      const killEntity = (e: number) => `kill-${suffix}-${e}`;
      const plain = ['exit 137', 'kill -9 $$'];
      // In the catalog in one batch rather than one by one in setCommands.
      await backend.registerComponents([
        ...Array.from({ length: AT_ONCE }, (_, e) => oomEntity(e)),
        ...plain.map((_, e) => killEntity(e)),
      ]);
      for (let e = 0; e < AT_ONCE; e++) {
        await api.setCommands(oomEntity(e), [
          { label: 'Allocate', command: ALLOCATE },
        ]);
      }
      for (let e = 0; e < plain.length; e++) {
        await api.setCommands(killEntity(e), [
          { label: 'Killed', command: plain[e] },
        ]);
      }

      // What the engine says, and in which order, for the figures below.
      const seen = new Map<string, string[]>();
      const events = await docker.getEvents({
        filters: {
          type: ['container'],
          event: ['oom', 'die'],
          label: ['org.release-commands.managed=true'],
        },
      });
      let buffered = '';
      events.on('data', (data: Buffer) => {
        buffered += data.toString();
        for (;;) {
          const end = buffered.indexOf('\n');
          if (end < 0) break;
          const event = JSON.parse(buffered.slice(0, end));
          buffered = buffered.slice(end + 1);
          seen.set(event.id, [...(seen.get(event.id) ?? []), event.Action]);
        }
      });

      /** Deploys `count` runs over `entities` entities, one at a time each. */
      const deployAll = (
        entity: (e: number) => string,
        entities: number,
        count: number,
      ) =>
        Promise.all(
          Array.from({ length: entities }, async (_, e) => {
            const runs = [];
            for (let i = e; i < count; i += entities) {
              const run = await api.deploy(entity(e), { image });
              runs.push(await api.waitForEnd(run.id, 5 * 60_000));
            }
            return runs;
          }),
        ).then(all => all.flat());

      const startedAt = Date.now();
      const [oomRuns, killRuns] = await Promise.all([
        deployAll(oomEntity, AT_ONCE, OOM_RUNS),
        deployAll(killEntity, plain.length, PLAIN_KILLS),
      ]);
      const tookMs = Date.now() - startedAt;
      (events as unknown as { destroy(): void }).destroy();

      const reported = oomRuns.filter(
        run =>
          run.steps[0].oomKilled &&
          run.reason?.startsWith('"Allocate" ran out of memory'),
      ).length;
      const lateEvents = [...seen.values()].filter(
        actions => actions.indexOf('oom') > actions.indexOf('die'),
      ).length;
      process.stdout.write(
        `${database}: ${reported}/${OOM_RUNS} runs reported out of memory, ` +
          `${
            killRuns.filter(run => !run.steps[0].oomKilled).length
          }/${PLAIN_KILLS} plain exit 137 runs not, ` +
          `in ${tookMs} ms; the engine sent the oom event after the exit for ${lateEvents} containers\n`,
      );
      expect(
        oomRuns.map(run => `${run.status} ${run.steps[0].exitCode}`),
      ).toEqual(Array(OOM_RUNS).fill('failed 137'));
      expect(reported).toBe(OOM_RUNS);
      expect(
        killRuns.map(run => ({
          exitCode: run.steps[0].exitCode,
          oomKilled: run.steps[0].oomKilled,
          reason: run.reason,
        })),
      ).toEqual(
        Array(PLAIN_KILLS).fill({
          exitCode: 137,
          oomKilled: false,
          reason:
            '"Killed" was killed by SIGKILL (exit code 137); this run did not stop it, so the engine, the host or the command itself did.',
        }),
      );
      expect(
        await labelledContainers(
          docker,
          ofRuns([...oomRuns, ...killRuns].map(run => run.id)),
        ),
      ).toEqual([]);
    });
  },
);
