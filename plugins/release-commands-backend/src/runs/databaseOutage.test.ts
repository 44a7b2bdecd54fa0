import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { ReleaseCommandRun } from '@release-commands/backstage-plugin-release-commands-common';
import {
  startThrowawayPostgres,
  ThrowawayPostgres,
} from '@release-commands/test-utils';
import knexFactory, { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useTestEngine } from '../__testUtils__/useTestEngine';
import { DatabaseReleaseCommandsStore } from '../database/DatabaseReleaseCommandsStore';
import { DatabaseRunLogStore } from '../database/DatabaseRunLogStore';
import { DatabaseRunsStore } from '../database/DatabaseRunsStore';
import { DockerExecutor } from '../executor/DockerExecutor';
import { RunEvents } from './RunEvents';
import { RunOrchestrator } from './RunOrchestrator';
import { RunSettings } from './RunSettings';

jest.setTimeout(5 * 60_000);

// The driver knex uses for SQLite, opened directly to hold a lock (it ships
// no types).
type SqliteConnection = { exec(sql: string): void; close(): void };
const openSqlite: (file: string) => SqliteConnection = file =>
  new (require('better-sqlite3'))(file, { timeout: 0 });

// Each failed connection attempt is otherwise printed.
const quietKnex = {
  warn() {},
  error() {},
  debug() {},
  deprecate() {},
};

const SHOP = 'component:default/shop';
const SECRET = 'outage-secret-value';

const settings: RunSettings = {
  defaultTimeoutSeconds: 600,
  maxConcurrentRuns: 4,
  logCapBytes: 1024 * 1024,
  outputMaxLoopLagMs: 20,
  heartbeatIntervalMs: 500,
  // Lost leases are given up at three quarters of this: 9 s.
  staleAfterMs: 12_000,
  recoveryIntervalMs: 1000,
  stopGracePeriodMs: 1000,
  runDeadlineMs: 3600_000,
  maxQueuedPerEntity: 10,
  maxQueuedPerActor: 50,
  maxHeldSecretBytes: 1024 * 1024,
  preflight: false,
};

/** A database that a test can take away and give back. */
type Outage = {
  knex: Knex;
  /** Makes the database unreachable (or locked) until `end`. */
  begin(): void;
  end(): void;
  destroy(): Promise<void>;
};

/** PostgreSQL of its own, stopped outright. */
async function postgresOutage(): Promise<Outage> {
  const server: ThrowawayPostgres = await startThrowawayPostgres();
  const knex = knexFactory({
    client: 'pg',
    connection: server.connectionString,
    pool: { min: 0, max: 10 },
    acquireConnectionTimeout: 5000,
    log: quietKnex,
  });
  let down = false;
  return {
    knex,
    begin: () => {
      server.stop();
      down = true;
    },
    end: () => {
      if (down) server.start();
      down = false;
    },
    destroy: async () => {
      await knex.destroy();
      server.destroy();
    },
  };
}

/**
 * SQLite in a file, locked by another connection's exclusive transaction:
 * every read and write of the backend fails with SQLITE_BUSY meanwhile.
 */
async function sqliteOutage(): Promise<Outage> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-outage-'));
  const filename = path.join(dir, 'db.sqlite');
  const knex = knexFactory({
    client: 'better-sqlite3',
    // The driver waits for a lock synchronously, blocking the event loop:
    // failing at once lets the process go on as it would with a server.
    connection: { filename },
    pool: {
      afterCreate: (
        connection: { pragma(sql: string): void },
        done: (error: Error | null, connection: unknown) => void,
      ) => {
        connection.pragma('busy_timeout = 0');
        done(null, connection);
      },
    },
    useNullAsDefault: true,
    log: quietKnex,
  });
  let locker: SqliteConnection | undefined;
  return {
    knex,
    begin: () => {
      locker = openSqlite(filename);
      locker.exec('BEGIN EXCLUSIVE');
    },
    end: () => {
      locker?.exec('COMMIT');
      locker?.close();
      locker = undefined;
    },
    destroy: async () => {
      await knex.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean) {
  const until = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** Timers alive in this process now. */
const timerCount = () =>
  process.getActiveResourcesInfo().filter(r => r === 'Timeout').length;

describe.each([
  ['PostgreSQL', postgresOutage],
  ['SQLite', sqliteOutage],
] as const)('a database outage during a run, on %s', (_name, makeOutage) => {
  const engine = useTestEngine();
  let outage: Outage;
  let orchestrator: RunOrchestrator;
  let logStore: DatabaseRunLogStore;
  let runsStore: DatabaseRunsStore;
  let commandsStore: DatabaseReleaseCommandsStore;

  beforeEach(async () => {
    outage = await makeOutage();
    const database = mockServices.database({ knex: outage.knex });
    commandsStore = await DatabaseReleaseCommandsStore.create({ database });
    runsStore = await DatabaseRunsStore.create({ database });
    logStore = await DatabaseRunLogStore.create({ database });
    orchestrator = new RunOrchestrator({
      runsStore,
      logStore,
      commandsStore,
      executor: DockerExecutor.fromConfig(
        new ConfigReader({
          releaseCommands: {
            docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
          },
        }),
      ),
      logger: mockServices.logger.mock(),
      events: new RunEvents(),
      settings,
    });
    await orchestrator.start();
  });

  afterEach(async () => {
    outage.end();
    await orchestrator.stop();
    await outage.destroy();
  });

  async function deploy(command: string): Promise<ReleaseCommandRun> {
    const { revision } = await commandsStore.getCommands(SHOP);
    await commandsStore.replaceCommands({
      entityRef: SHOP,
      revision,
      commands: [{ label: 'Migrate', command }],
      actor: 'user:default/ada',
    });
    return orchestrator.createRun({
      entityRef: SHOP,
      image: engine.image,
      env: { DB_PASSWORD: SECRET },
      environment: 'production',
      trigger: 'pipeline',
      actor: 'external:ci',
    });
  }

  const logOf = async (runId: string) =>
    (await logStore.readLog(runId, { afterSeq: -1, limit: 10_000 }))
      .map(c => c.text)
      .join('');

  const containersOf = (runId: string) =>
    engine.docker.listContainers({
      all: true,
      filters: { label: [`org.release-commands.run=${runId}`] },
    });

  it('completes a run through a 5 s outage, with its whole log', async () => {
    const run = await deploy(
      'echo "password $DB_PASSWORD"; i=0; while [ $i -lt 12 ]; do echo tick $i; i=$((i+1)); sleep 1; done; echo done',
    );
    await waitFor('the first ticks', async () =>
      (await logOf(run.id)).includes('tick 1\n'),
    );
    const downAt = Date.now();
    outage.begin();
    await new Promise(resolve => setTimeout(resolve, 5000));
    outage.end();
    const downMs = Date.now() - downAt;

    await orchestrator.idle();
    const ended = await runsStore.getRun(run.id);
    const log = await logOf(run.id);
    process.stdout.write(
      `${_name}: down ${downMs} ms mid-run; run ${ended?.status}\n`,
    );
    expect(ended).toMatchObject({
      status: 'succeeded',
      steps: [{ status: 'succeeded', exitCode: 0 }],
    });
    const ticks = Array.from({ length: 12 }, (_, i) => `tick ${i}\n`).join('');
    expect(log).toContain(`password ***\n${ticks}done\n`);
    expect(log).not.toContain(SECRET);
    expect(await containersOf(run.id)).toEqual([]);
  });

  it('stops a run whose database stays away for 90 s, and ends it with the true reason once it is back', async () => {
    const baseline = timerCount();
    const run = await deploy('echo "started $DB_PASSWORD"; sleep 600');
    await waitFor('the command to start', async () =>
      (await logOf(run.id)).includes('started ***\n'),
    );
    expect(await containersOf(run.id)).toHaveLength(1);

    const downAt = Date.now();
    outage.begin();
    // The owner gives the run up at three quarters of the stale window.
    await waitFor(
      'the container to be removed',
      async () => (await containersOf(run.id)).length === 0,
    );
    const removedAfterMs = Date.now() - downAt;
    await new Promise(resolve =>
      setTimeout(resolve, Math.max(0, 90_000 - (Date.now() - downAt))),
    );
    outage.end();
    const downMs = Date.now() - downAt;

    await orchestrator.idle();
    const ended = await runsStore.getRun(run.id);
    const log = await logOf(run.id);
    process.stdout.write(
      `${_name}: down ${downMs} ms; container removed ${removedAfterMs} ms into the outage; run ${ended?.status}: ${ended?.reason}\n`,
    );
    expect(removedAfterMs).toBeLessThan(20_000);
    expect(ended).toMatchObject({
      status: 'interrupted',
      steps: [{ status: 'interrupted' }],
    });
    expect(ended?.reason).toMatch(
      /^This backend instance could not reach the database for \d+(\.\d)?s while "Migrate" was running \(.+\), so it stopped the run before another instance would take it for dead; it was not retried/,
    );
    expect(log).toContain('started ***\n');
    expect(log).toMatch(
      /Release commands interrupted: This backend instance could not reach the database/,
    );
    expect(log).not.toContain(SECRET);
    expect(await containersOf(run.id)).toEqual([]);
    // Nothing of the run is left: no secret held, no timer running.
    expect(orchestrator.heldSecrets).toEqual({ runs: 0, bytes: 0 });
    await waitFor(
      'the run timers to be cleared',
      () => timerCount() <= baseline,
    );
    process.stdout.write(
      `${_name}: timers ${timerCount()} after the run (${baseline} before it)\n`,
    );
    // The entity is free again.
    const next = await deploy('echo again');
    await orchestrator.idle();
    await expect(runsStore.getRun(next.id)).resolves.toMatchObject({
      status: 'succeeded',
    });
  });
});
