import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import knexFactory from 'knex';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { labelledContainers, runsApi, waitFor } from './runs';

jest.setTimeout(10 * 60_000);

// Past three quarters of it an owner stops its own runs; past all of it
// another instance interrupts them.
const STALE_SECONDS = 6;

/**
 * Two backend processes on one host name and one PostgreSQL, each in a pid
 * namespace of its own (as containers with host networking, or a fixed
 * compose host name, are): in both, the backend is PID 1. Neither may judge
 * the other by pid; only heartbeats on the database's clock count.
 */
describe('two backends with the same host name in separate pid namespaces, on PostgreSQL', () => {
  let docker: Docker;
  let image: string;
  let a: BackendProcess;
  let b: BackendProcess;
  const databasePrefix = `rc_ns_${randomBytes(4).toString('hex')}_`;

  /** When the database last heard from the run's owner, and when it ended it. */
  async function leaseTimes(runId: string) {
    const url = new URL(
      process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING!,
    );
    url.pathname = `/${databasePrefix}release-commands`;
    const knex = knexFactory({ client: 'pg', connection: url.toString() });
    try {
      const row = await knex('release_command_runs')
        .where({ id: runId })
        .first('heartbeat_at', 'finished_at');
      return {
        heartbeatAt: new Date(row.heartbeat_at).getTime(),
        finishedAt: new Date(row.finished_at).getTime(),
      };
    } finally {
      await knex.destroy();
    }
  }

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('This suite runs the backends with unshare, as root');
    }
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    const shared = {
      database: 'postgres' as const,
      databasePrefix,
      wrapper: ['unshare', '--pid', '--fork', '--mount-proc'],
      releaseCommands: {
        runs: {
          heartbeatIntervalSeconds: 0.5,
          staleAfterSeconds: STALE_SECONDS,
          recoveryIntervalSeconds: 1,
        },
      },
    };
    a = await startBackendProcess(shared);
    b = await startBackendProcess(shared);
    // Both read the one catalog database (and file) that the prefix gives
    // them, and each test calls both. Registered here, before any backend is
    // frozen; the second call only finds them served through b.
    const entities = ['ns-live-a', 'ns-live-b', 'ns-frozen'];
    await a.registerComponents(entities);
    await b.registerComponents(entities);
  });

  afterAll(async () => {
    if (a) process.kill(a.pid(), 'SIGCONT');
    await a?.stop();
    await b?.stop();
  });

  const pidNamespaceOf = (backend: BackendProcess) =>
    fs.readlinkSync(`/proc/${backend.pid()}/ns/pid`);

  it('runs in two pid namespaces where both backends are PID 1', () => {
    expect(pidNamespaceOf(a)).not.toBe(pidNamespaceOf(b));
    expect(pidNamespaceOf(a)).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
    for (const backend of [a, b]) {
      expect(backend.output()).toMatch(
        /Running release commands with .* \(instance [^:]+:1:[0-9a-f]{8}:[0-9a-f]{12}\.\d+\)/,
      );
    }
  });

  it("never interrupts the other's live runs", async () => {
    const apiA = runsApi(a);
    const apiB = runsApi(b);
    const command = 'echo started; sleep 12; echo done';
    await apiA.setCommands('ns-live-a', [{ label: 'Migrate', command }]);
    await apiA.setCommands('ns-live-b', [{ label: 'Migrate', command }]);
    const runA = await apiA.deploy('ns-live-a', { image });
    const runB = await apiB.deploy('ns-live-b', { image });
    // Each backend looked at the other's runs a dozen times meanwhile.
    const [endA, endB] = await Promise.all([
      apiA.waitForEnd(runA.id),
      apiB.waitForEnd(runB.id),
    ]);
    expect([endA.status, endA.reason, endB.status, endB.reason]).toEqual([
      'succeeded',
      null,
      'succeeded',
      null,
    ]);
    expect(await apiA.log(runA.id)).toContain('started\ndone\n');
    expect(await apiB.log(runB.id)).toContain('started\ndone\n');
  });

  it('interrupts the runs of a backend frozen past the stale window; thawed, it overwrites nothing and stops', async () => {
    const apiA = runsApi(a);
    const apiB = runsApi(b);
    await apiA.setCommands('ns-frozen', [
      {
        label: 'Migrate',
        command: 'echo started; while true; do echo tick; sleep 0.2; done',
      },
      { label: 'After', command: 'echo never' },
    ]);
    const run = await apiA.deploy('ns-frozen', { image });
    await waitFor(
      async () => (await apiB.log(run.id)).includes('tick\n'),
      'the command to print',
    );

    const frozenAt = Date.now();
    process.kill(a.pid(), 'SIGSTOP');
    const interrupted = await apiB.waitForEnd(run.id, 60_000);
    const interruptedAfterMs = Date.now() - frozenAt;
    await waitFor(
      async () => (await labelledContainers(docker, run.id)).length === 0,
      "the frozen backend's container to be removed",
    );
    const removedAfterMs = Date.now() - frozenAt;
    const logBefore = await apiB.log(run.id);
    // The lock is free again once the workload is gone.
    await apiB.setCommands('ns-frozen', [{ label: 'Check', command: 'true' }]);
    const again = await apiB.deploy('ns-frozen', { image });
    await apiB.waitForEnd(again.id);

    const thawedAt = Date.now();
    process.kill(a.pid(), 'SIGCONT');
    await waitFor(
      async () =>
        /Release command run \S+ was ended by another backend instance|had already been ended elsewhere/.test(
          a.output().slice(a.output().indexOf(run.id)),
        ),
      'the thawed backend to notice',
    );
    // Several of its heartbeats and log flushes later:
    await new Promise(resolve => setTimeout(resolve, 3000));
    const after = await apiB.getRun(run.id);
    const logAfter = await apiB.log(run.id);
    const lease = await leaseTimes(run.id);
    process.stdout.write(
      `frozen backend: run interrupted ${interruptedAfterMs} ms after SIGSTOP and ${
        lease.finishedAt - lease.heartbeatAt
      } ms after its last heartbeat (stale window ${STALE_SECONDS} s), container removed after ${removedAfterMs} ms; thawed ${
        Date.now() - thawedAt
      } ms ago: run ${after.status}, log ${
        logAfter === logBefore ? 'unchanged' : 'CHANGED'
      } (${logAfter.length} bytes)\n`,
    );
    // Not before the stale window had passed since the frozen backend's
    // last heartbeat, both on the database's clock (that heartbeat came up
    // to an interval before SIGSTOP, so the test's own clock cannot tell).
    expect(lease.finishedAt - lease.heartbeatAt).toBeGreaterThanOrEqual(
      STALE_SECONDS * 1000,
    );
    expect(interrupted).toMatchObject({
      status: 'interrupted',
      steps: [{ status: 'interrupted' }, { status: 'skipped' }],
    });
    expect(interrupted.reason).toMatch(
      /^The backend instance running this deploy stopped \(its last sign of life was at .+\); the run was not retried/,
    );
    expect(after).toEqual(interrupted);
    expect(logAfter).toBe(logBefore);
    expect(logAfter).toMatch(
      /Release commands interrupted: The backend instance running this deploy stopped/,
    );
    expect(logAfter).not.toContain('never');
    expect(await labelledContainers(docker, run.id)).toEqual([]);
    // The thawed backend goes on serving.
    expect((await a.api('/health')).status).toBe(200);
  });
});
