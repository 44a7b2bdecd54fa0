import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  ReleaseCommandExecutor,
  releaseCommandsExecutorExtensionPoint,
  StepRequest,
} from '@release-commands/backstage-plugin-release-commands-node';
import { createTestDatabases } from '@release-commands/test-utils';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import notificationsPlugin from '@backstage/plugin-notifications-backend';
import { anyEntity, startPlugin } from './__testUtils__/startPlugin';
import { DatabaseRunsStore } from './database/DatabaseRunsStore';
import { releaseCommandsPlugin } from './plugin';
import { RUN_RETENTION_TASK_ID } from './runs/RunCleaner';

const { databases, ids } = createTestDatabases();

/** The entity the runs below deploy, and the images they may use. */
const shopInTheCatalog = catalogServiceMock.factory({
  entities: [anyEntity('component:default/shop')],
});
const TEST_IMAGES = { allow: [{ repositoryPrefix: 'release-commands-test/' }] };

describe('releaseCommandsPlugin', () => {
  it.each(ids)('migrates its database on %p at start-up', async databaseId => {
    const knex = await databases.init(databaseId);
    await startTestBackend({
      features: [
        releaseCommandsPlugin,
        mockServices.database.factory({ knex }),
      ],
    });
    expect(await knex.schema.hasTable('release_commands')).toBe(true);
    expect(await knex.schema.hasTable('release_command_lists')).toBe(true);
  });

  it('answers on /health without credentials', async () => {
    const { server } = await startTestBackend({
      features: [releaseCommandsPlugin],
    });

    const res = await request(server).get('/api/release-commands/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('starts and warns once when no Docker engine answers', async () => {
    const logger = mockServices.logger.mock();
    const childLogger = mockServices.logger.mock();
    logger.child.mockReturnValue(childLogger);
    const { server } = await startTestBackend({
      features: [
        releaseCommandsPlugin,
        logger.factory,
        mockServices.rootConfig.factory({
          data: {
            releaseCommands: {
              docker: { host: 'unix:///nonexistent/docker.sock' },
            },
          },
        }),
      ],
    });

    await request(server).get('/api/release-commands/health').expect(200);
    const warnings = () =>
      [...logger.warn.mock.calls, ...childLogger.warn.mock.calls]
        .map(([message]) => String(message))
        .filter(message => message.includes('No Docker engine is reachable'));
    await eventually(() => warnings().length > 0);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('unix:///nonexistent/docker.sock');
    expect(warnings()[0]).toContain('every run will fail');
  });

  it.each([
    ['says once, without a notifications plugin,', [], 1],
    ['says nothing, with one,', [notificationsPlugin], 0],
  ])(
    'at start-up %s that owners are not notified',
    async (_, plugins, times) => {
      const logger = mockServices.logger.mock();
      const childLogger = mockServices.logger.mock();
      logger.child.mockReturnValue(childLogger);
      await startTestBackend({
        features: [
          releaseCommandsPlugin,
          ...plugins,
          shopInTheCatalog,
          logger.factory,
          mockServices.rootConfig.factory({
            data: {
              app: { baseUrl: 'http://localhost:3000' },
              releaseCommands: {
                docker: { host: 'unix:///nonexistent/docker.sock' },
              },
            },
          }),
        ],
      });
      const said = [...logger.info.mock.calls, ...childLogger.info.mock.calls]
        .map(([message]) => String(message))
        .filter(message => message.startsWith('Owners are not notified'));
      expect(said).toEqual(
        Array(times).fill(
          "Owners are not notified of failed runs: this backend has no notifications plugin (add '@backstage/plugin-notifications-backend')",
        ),
      );
    },
  );

  it('starts and serves its API while the engine accepts connections and never answers', async () => {
    const silent = await startSilentEngine();
    const startedAt = Date.now();
    try {
      const { server } = await startTestBackend({
        features: [
          releaseCommandsPlugin,
          shopInTheCatalog,
          mockServices.rootConfig.factory({
            data: {
              releaseCommands: {
                images: TEST_IMAGES,
                docker: {
                  host: `unix://${silent.path}`,
                  engineTimeoutSeconds: 1,
                },
              },
            },
          }),
        ],
      });
      const startUpMs = Date.now() - startedAt;
      // A run fails in bounded time, saying why.
      const { ended } = await deployAndWait(server, 30_000);
      expect(ended.status).toBe('failed');
      expect(ended.reason).toBe(
        `The Docker engine at unix://${silent.path} is unreachable: no answer within 1.0s.`,
      );
      // The engine was asked, and never answered.
      expect(silent.connections()).toBeGreaterThan(0);
      process.stdout.write(
        `silent engine: started in ${startUpMs} ms, the run failed ${
          Date.parse(ended.finishedAt) - Date.parse(ended.createdAt)
        } ms after it was created\n`,
      );
      expect(startUpMs).toBeLessThan(15_000);
    } finally {
      await silent.close();
    }
  }, 60_000);

  it('runs steps with an executor that a module sets through the extension point', async () => {
    const seen: StepRequest[] = [];
    const executor: ReleaseCommandExecutor = {
      description: 'recording executor',
      async prepareImage() {},
      async runStep(step) {
        seen.push(step);
        step.onOutput('stdout', Buffer.from('ran elsewhere\n'));
        return { exitCode: 0, oomKilled: false, workloadId: 'job-1' };
      },
      async removeLeftovers() {
        return [];
      },
    };
    const module = createBackendModule({
      pluginId: 'release-commands',
      moduleId: 'recording-executor',
      register(env) {
        env.registerInit({
          deps: { executors: releaseCommandsExecutorExtensionPoint },
          async init({ executors }) {
            executors.setExecutor(executor);
          },
        });
      },
    });
    const { server } = await startTestBackend({
      features: [
        releaseCommandsPlugin,
        module,
        shopInTheCatalog,
        mockServices.rootConfig.factory({
          data: { releaseCommands: { images: TEST_IMAGES } },
        }),
      ],
    });
    const { ended: run, auth } = await deployAndWait(server, 10_000);
    expect(run.status).toBe('succeeded');
    expect(seen.map(s => s.argv)).toEqual([['/bin/sh', '-c', 'migrate']]);
    const log = await request(server)
      .get(`/api/release-commands/runs/${run.id}/logs`)
      .set('Authorization', auth);
    expect(log.text).toContain('recording executor');
    expect(log.text).toContain('ran elsewhere\n');
  });

  describe.each(ids)('retention on %p', databaseId => {
    const noEngine = { host: 'unix:///nonexistent/docker.sock' };

    it('schedules a task on one replica at a time that removes runs ended longer ago than the retention', async () => {
      const knex = await databases.init(databaseId);
      const scheduler = mockServices.scheduler.mock();
      const api = await startPlugin({
        knex,
        extra: [scheduler.factory],
        config: {
          releaseCommands: { docker: noEngine, runs: { retention: '30d' } },
        },
      });
      expect(scheduler.scheduleTask).toHaveBeenCalledTimes(1);
      const [task] = scheduler.scheduleTask.mock.calls[0];
      expect(task).toMatchObject({
        id: RUN_RETENTION_TASK_ID,
        scope: 'global',
        frequency: { hours: 1 },
        timeout: { minutes: 30 },
      });

      // Runs as the plugin's store writes them, ended 31 days and 1 day ago.
      const runsStore = await DatabaseRunsStore.create({
        database: mockServices.database({ knex }),
      });
      const endedDaysAgo = async (days: number) => {
        const id = randomUUID();
        await runsStore.createRun({
          id,
          entityRef: 'component:default/shop',
          environment: 'production',
          image: 'release-commands-test/shop:1',
          trigger: 'pipeline',
          triggeredBy: 'external:ci',
          envKeys: [],
          ownerInstance: 'elsewhere',
          steps: [{ label: 'Migrate', command: 'migrate', timeoutSeconds: 60 }],
        });
        await runsStore.finishRun(id, { status: 'succeeded', reason: null });
        const at = new Date(Date.now() - days * 86_400_000);
        await knex('release_command_runs')
          .where({ id })
          .update({ created_at: at, finished_at: at });
        return id;
      };
      const old = await endedDaysAgo(31);
      const recent = await endedDaysAgo(1);
      await api.get(`/runs/${old}`).expect(200);

      // What the scheduler calls, on whichever replica holds the task.
      await task.fn(new AbortController().signal);

      await api.get(`/runs/${old}`).expect(404);
      await api.get(`/runs/${recent}`).expect(200);
      const page = await api
        .get('/entities/component/default/shop/runs')
        .expect(200);
      expect(page.body.runs.map((r: { id: string }) => r.id)).toEqual([recent]);
      expect(page.body.retentionSeconds).toBe(30 * 86_400);
    });

    it('keeps every run and schedules nothing when retention is false', async () => {
      const knex = await databases.init(databaseId);
      const scheduler = mockServices.scheduler.mock();
      const api = await startPlugin({
        knex,
        extra: [scheduler.factory],
        config: {
          releaseCommands: { docker: noEngine, runs: { retention: false } },
        },
      });
      expect(scheduler.scheduleTask).not.toHaveBeenCalled();
      const page = await api
        .get('/entities/component/default/shop/runs')
        .expect(200);
      expect(page.body).toEqual({ runs: [], retentionSeconds: null });
    });
  });

  it('tells the runs page the default retention of 90 days', async () => {
    const api = await startPlugin();
    const page = await api
      .get('/entities/component/default/shop/runs')
      .expect(200);
    expect(page.body).toEqual({ runs: [], retentionSeconds: 90 * 86_400 });
  });

  it('refuses to start with a retention it cannot read', async () => {
    await expect(
      startPlugin({
        config: { releaseCommands: { runs: { retention: '5 minutes' } } },
      }),
    ).rejects.toThrow(/releaseCommands.runs.retention must be at least 1 hour/);
  });

  it.each([
    [
      { defaultTimeoutSeconds: 30 * 86_400 },
      'releaseCommands.defaultTimeoutSeconds must be at most 86400 seconds',
    ],
    [
      { docker: { capAdd: ['SYS_WIZARD'] } },
      'releaseCommands.docker.capAdd lists "SYS_WIZARD"',
    ],
    [{ docker: { user: 'root;' } }, 'releaseCommands.docker.user must be'],
    [
      { images: { allow: [{ registry: 'a b' }] } },
      'releaseCommands.images.allow[0].registry must be a registry host such as ghcr.io or registry.example.com:5000, got "a b"',
    ],
    [
      { images: { allow: [{ registry: 'ghcr.io', image: 'x:1' }] } },
      'releaseCommands.images.allow[0] must have exactly one of registry, repositoryPrefix, repository, image, got registry and image',
    ],
  ])(
    'refuses to start with %j, naming the key',
    async (releaseCommands, message) => {
      await expect(
        startPlugin({ config: { releaseCommands } }),
      ).rejects.toThrow(message);
    },
  );
});

/**
 * Gives the shop one command, deploys it as a user and waits for the run
 * to end; the run as it ended.
 */
async function deployAndWait(
  server: Parameters<typeof request>[0],
  timeoutMs: number,
) {
  const auth = mockCredentials.user.header('user:default/ada');
  const base = '/api/release-commands/entities/component/default/shop';
  await request(server)
    .put(`${base}/commands`)
    .set('Authorization', auth)
    .send({ revision: 0, commands: [{ label: 'Migrate', command: 'migrate' }] })
    .expect(200);
  const { body: run } = await request(server)
    .post(`${base}/runs`)
    .set('Authorization', auth)
    .send({ image: 'release-commands-test/shop:1' })
    .expect(202);
  let ended = run;
  await eventually(async () => {
    ({ body: ended } = await request(server)
      .get(`/api/release-commands/runs/${run.id}`)
      .set('Authorization', auth));
    return !['queued', 'running'].includes(ended.status);
  }, timeoutMs);
  return { ended, auth };
}

/** Resolves once `check` holds, or throws after `timeoutMs`. */
async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('the condition never held');
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/**
 * A socket where an engine would be, that accepts connections and never
 * answers: a frozen engine, or a remote one behind a black-holing network.
 */
async function startSilentEngine() {
  const socketPath = path.join(
    os.tmpdir(),
    `silent-engine-${randomUUID()}.sock`,
  );
  const sockets: net.Socket[] = [];
  const server = net.createServer(socket => {
    socket.on('error', () => {});
    sockets.push(socket);
  });
  await new Promise<void>(resolve => server.listen(socketPath, resolve));
  return {
    path: socketPath,
    connections: () => sockets.length,
    close: () =>
      new Promise<void>(resolve => {
        sockets.forEach(socket => socket.destroy());
        server.close(() => resolve());
      }),
  };
}
