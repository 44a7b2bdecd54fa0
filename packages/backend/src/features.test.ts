import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import request from 'supertest';
import { features } from './features';

describe('the portal backend', () => {
  it('starts with every plugin, the release-commands plugin included', async () => {
    const { server } = await startTestBackend({
      features: [
        ...features,
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
  });
});
