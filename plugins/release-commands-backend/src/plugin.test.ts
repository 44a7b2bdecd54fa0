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
    const warnings = [...logger.warn.mock.calls, ...childLogger.warn.mock.calls]
      .map(([message]) => String(message))
      .filter(message => message.includes('No Docker engine is reachable'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('unix:///nonexistent/docker.sock');
    expect(warnings[0]).toContain('every run will fail');
  });

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
