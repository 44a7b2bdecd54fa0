/*
 * Benchmark: read latency of GET /entities/:kind/:namespace/:name/commands
 * with 10,000 entities of 5 commands each, on SQLite (a file) and on
 * PostgreSQL (BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING).
 * The real router and store are served over loopback HTTP; authentication,
 * permission checks and the catalog are stand-ins that answer at once, so
 * the figures are the plugin's own cost. Run: bash bench/commands-read.sh
 */
import { ConfigReader } from '@backstage/config';
import express from 'express';
import knexFactory, { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseReleaseCommandsStore } from '../plugins/release-commands-backend/src/database/DatabaseReleaseCommandsStore';
import { DatabaseRunLogStore } from '../plugins/release-commands-backend/src/database/DatabaseRunLogStore';
import { DatabaseRunsStore } from '../plugins/release-commands-backend/src/database/DatabaseRunsStore';
import { RepositoryDeclarations } from '../plugins/release-commands-backend/src/declarations/RepositoryDeclarations';
import { DockerExecutor } from '../plugins/release-commands-backend/src/executor/DockerExecutor';
import { ImagePolicy } from '../plugins/release-commands-backend/src/runs/ImagePolicy';
import { RunEvents } from '../plugins/release-commands-backend/src/runs/RunEvents';
import { RunOrchestrator } from '../plugins/release-commands-backend/src/runs/RunOrchestrator';
import { readRunSettings } from '../plugins/release-commands-backend/src/runs/RunSettings';
import { createRouter } from '../plugins/release-commands-backend/src/service/createRouter';

const ENTITIES = 10_000;
const COMMANDS_PER_ENTITY = 5;
const REQUESTS = 3_000;

// This bench's entities declare no commands: nothing is read.
const unsupported = async (): Promise<never> => {
  throw new Error('not read in this benchmark');
};

async function load(knex: Knex) {
  const now = new Date();
  const lists = [];
  const commands = [];
  for (let e = 0; e < ENTITIES; e++) {
    const ref = `component:default/service-${e}`;
    // Bound to the entity the stand-in catalog has for it.
    lists.push({
      entity_ref: ref,
      entity_uid: ref,
      revision: 1,
      updated_at: now,
    });
    for (let c = 0; c < COMMANDS_PER_ENTITY; c++) {
      commands.push({
        id: randomUUID(),
        entity_ref: ref,
        position: c,
        label: `Step ${c}`,
        command: `python manage.py step-${c} --noinput`,
        source: 'user',
        enabled: true,
        timeout_seconds: null,
        created_by: 'user:default/bench',
        created_at: now,
        updated_by: 'user:default/bench',
        updated_at: now,
      });
    }
  }
  await knex.batchInsert('release_command_lists', lists, 500);
  await knex.batchInsert('release_commands', commands, 500);
}

async function measure(name: string, knex: Knex) {
  const store = await DatabaseReleaseCommandsStore.create({
    database: { getClient: async () => knex },
  });
  await load(knex);
  const allowAll: any = {
    credentials: async () => ({
      principal: { type: 'user', userEntityRef: 'user:default/bench' },
    }),
    authorize: async (requests: unknown[]) =>
      requests.map(() => ({ result: 'ALLOW' })),
    createEvent: async () => ({
      success: async () => {},
      fail: async () => {},
    }),
  };
  const database = { getClient: async () => knex };
  const runsStore = await DatabaseRunsStore.create({ database });
  const logStore = await DatabaseRunLogStore.create({ database });
  const events = new RunEvents();
  // Never started: this benchmark reads commands only.
  const orchestrator = new RunOrchestrator({
    runsStore,
    logStore,
    commandsStore: store,
    executor: DockerExecutor.fromConfig(new ConfigReader({})),
    logger: { error() {}, warn() {}, info() {}, debug() {} } as any,
    events,
    settings: readRunSettings(new ConfigReader({})),
  });
  const app = express();
  app.use(
    '/api/release-commands',
    await createRouter({
      store,
      catalog: {
        getEntityByRef: async ref => ({
          apiVersion: 'backstage.io/v1alpha1',
          kind: 'Component',
          metadata: { name: String(ref).split('/').pop()!, uid: String(ref) },
        }),
      },
      runs: {
        orchestrator,
        runsStore,
        logStore,
        events,
        retentionSeconds: null,
        // This bench reads commands and starts no run.
        imagePolicy: new ImagePolicy([]),
        declarations: new RepositoryDeclarations({
          urlReader: {
            readUrl: unsupported,
            readTree: unsupported,
            search: unsupported,
          },
          config: new ConfigReader({}),
        }),
      },
      httpAuth: allowAll,
      permissions: allowAll,
      auditor: allowAll,
      defaultTimeoutSeconds: 1800,
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise(resolve => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;

  const timings: number[] = [];
  for (let i = 0; i < REQUESTS + 200; i++) {
    const entity = Math.floor(Math.random() * ENTITIES);
    const started = process.hrtime.bigint();
    const res = await fetch(
      `http://127.0.0.1:${port}/api/release-commands/entities/component/default/service-${entity}/commands`,
    );
    const body = await res.json();
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (res.status !== 200 || body.commands.length !== COMMANDS_PER_ENTITY) {
      throw new Error(
        `unexpected answer ${res.status} ${JSON.stringify(body)}`,
      );
    }
    if (i >= 200) timings.push(elapsed); // the first 200 warm up
  }
  server.close();
  timings.sort((a, b) => a - b);
  const at = (q: number) =>
    timings[Math.min(timings.length - 1, Math.floor(q * timings.length))];
  console.log(
    `${name}: ${ENTITIES} entities x ${COMMANDS_PER_ENTITY} commands, ${REQUESTS} GETs: ` +
      `p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${at(
        1,
      ).toFixed(2)} ms`,
  );
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-commands-bench-'));
  const sqlite = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: path.join(dir, 'bench.sqlite') },
    useNullAsDefault: true,
  });
  await measure('SQLite', sqlite);
  await sqlite.destroy();
  fs.rmSync(dir, { recursive: true, force: true });

  const pg = process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!pg) {
    throw new Error(
      'Set BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING (bench/commands-read.sh starts a server)',
    );
  }
  const admin = knexFactory({ client: 'pg', connection: pg });
  const database = `bench_${Date.now()}`;
  await admin.raw(`CREATE DATABASE ${database}`);
  const postgres = knexFactory({
    client: 'pg',
    connection: `${pg}/${database}`,
  });
  try {
    await measure('PostgreSQL 15', postgres);
  } finally {
    await postgres.destroy();
    await admin.raw(`DROP DATABASE ${database}`);
    await admin.destroy();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
