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

    await request(server)
      .get('/api/release-commands/health')
      .expect(200, { status: 'ok' });
    // The catalog and the scaffolder are up beside it.
    await request(server)
      .get('/api/catalog/entities')
      .set('Authorization', mockCredentials.user.header())
      .expect(200);
    await request(server)
      .get('/api/scaffolder/v2/actions')
      .set('Authorization', mockCredentials.user.header())
      .expect(200);
  }, 60_000); // Every plugin starting, beside suites that keep the machine busy.
});
