import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import request from 'supertest';
import signalsBackend from '@backstage/plugin-signals-backend';
import { features } from './features';

describe('the portal backend', () => {
  it('starts with every plugin but signals, the release-commands plugin included', async () => {
    const { server } = await startTestBackend({
      features: [
        // The published test utilities bundle an HTTP router without WebSocket
        // support, which only the signals plugin needs; it is left out here.
        ...features.filter(feature => feature !== signalsBackend),
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://localhost:3000' },
            backend: { baseUrl: 'http://localhost:7007' },
            auth: { providers: { guest: {} } },
            catalog: {
              locations: [],
            },
          },
        }),
      ],
    });

    const get = (path: string) =>
      request(server)
        .get(path)
        .set('Authorization', mockCredentials.user.header());
    const health = await get('/api/release-commands/health');
    expect(health.body).toEqual({ status: 'ok' });
    // The catalog and the scaffolder are up beside it.
    const statuses = await Promise.all(
      ['/api/catalog/entities', '/api/scaffolder/v2/actions'].map(
        async path => (await get(path)).status,
      ),
    );
    expect([health.status, ...statuses]).toEqual([200, 200, 200]);
  }, 60_000); // Every plugin starting, beside suites that keep the machine busy.
});
