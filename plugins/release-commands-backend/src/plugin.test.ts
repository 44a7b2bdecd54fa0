import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createTestDatabases } from '@internal/release-commands-test-utils';
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
});
