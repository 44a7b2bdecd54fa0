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
import { releaseCommandsPlugin } from './plugin';

const { databases, ids } = createTestDatabases();

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

  it('starts and serves its API while the engine accepts connections and never answers', async () => {
    const silent = await startSilentEngine();
    const startedAt = Date.now();
    try {
      const { server } = await startTestBackend({
        features: [
          releaseCommandsPlugin,
          mockServices.rootConfig.factory({
            data: {
              releaseCommands: {
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
      const auth = mockCredentials.user.header('user:default/ada');
      const base = '/api/release-commands/entities/component/default/shop';
      await request(server)
        .put(`${base}/commands`)
        .set('Authorization', auth)
        .send({
          revision: 0,
          commands: [{ label: 'Migrate', command: 'migrate' }],
        })
        .expect(200);

      // A run fails in bounded time, saying why.
      const { body: run } = await request(server)
        .post(`${base}/runs`)
        .set('Authorization', auth)
        .send({ image: 'shop:1' })
        .expect(202);
      let ended = run;
      await eventually(async () => {
        ({ body: ended } = await request(server)
          .get(`/api/release-commands/runs/${run.id}`)
          .set('Authorization', auth));
        return !['queued', 'running'].includes(ended.status);
      }, 30_000);
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
      features: [releaseCommandsPlugin, module],
    });
    const auth = mockCredentials.user.header('user:default/ada');
    const base = '/api/release-commands/entities/component/default/shop';
    await request(server)
      .put(`${base}/commands`)
      .set('Authorization', auth)
      .send({
        revision: 0,
        commands: [{ label: 'Migrate', command: 'migrate' }],
      })
      .expect(200);
    const { body: run } = await request(server)
      .post(`${base}/runs`)
      .set('Authorization', auth)
      .send({ image: 'shop:1' })
      .expect(202);
    let status = run.status;
    for (let i = 0; i < 100 && ['queued', 'running'].includes(status); i++) {
      await new Promise(resolve => setTimeout(resolve, 50));
      ({
        body: { status },
      } = await request(server)
        .get(`/api/release-commands/runs/${run.id}`)
        .set('Authorization', auth));
    }
    expect(status).toBe('succeeded');
    expect(seen.map(s => s.argv)).toEqual([['/bin/sh', '-c', 'migrate']]);
    const log = await request(server)
      .get(`/api/release-commands/runs/${run.id}/logs`)
      .set('Authorization', auth);
    expect(log.text).toContain('recording executor');
    expect(log.text).toContain('ran elsewhere\n');
  });
});

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
