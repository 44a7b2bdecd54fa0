import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { createReleaseCommandsServiceClient } from './createReleaseCommandsServiceClient';

describe('createReleaseCommandsServiceClient', () => {
  const pluginAuth = mockServices.auth({ pluginId: 'release-commands' });
  let server: Server;
  let baseUrl: string;
  let callers: BackstageCredentials[];

  beforeAll(async () => {
    // The plugin, as far as the client can tell: every request gets an empty
    // list, and the plugin's own auth says who sent it.
    server = createServer(async (req, res) => {
      const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      callers.push(await pluginAuth.authenticate(token));
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ commands: [], revision: 0 }));
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}/api/release-commands`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));
  beforeEach(() => {
    callers = [];
  });

  const clientFor = (onBehalfOf?: () => Promise<BackstageCredentials>) =>
    createReleaseCommandsServiceClient({
      discovery: mockServices.discovery.mock({
        getBaseUrl: async () => baseUrl,
      }),
      auth: mockServices.auth({ pluginId: 'scaffolder' }),
      onBehalfOf,
    });

  it('calls as the user it acts for, asking before every request', async () => {
    const onBehalfOf = jest.fn(async () =>
      mockCredentials.user('user:default/ada'),
    );
    const client = clientFor(onBehalfOf);

    await client.getCommands('component:default/shop');
    await client.getCommands('component:default/shop');

    expect(onBehalfOf).toHaveBeenCalledTimes(2);
    expect(callers.map(c => c.principal)).toEqual([
      { type: 'user', userEntityRef: 'user:default/ada' },
      { type: 'user', userEntityRef: 'user:default/ada' },
    ]);
  });

  it("calls with the calling plugin's own credentials when it acts for no one", async () => {
    await clientFor().getCommands('component:default/shop');

    expect(callers.map(c => c.principal)).toEqual([
      { type: 'service', subject: 'plugin:scaffolder' },
    ]);
  });

  it.each([
    ['a none principal', async () => mockCredentials.none()],
    ['nothing', async () => undefined as unknown as BackstageCredentials],
  ])(
    'refuses every request, sending none, when onBehalfOf gives %s',
    async (_, onBehalfOf) => {
      const client = clientFor(onBehalfOf);

      for (const call of [
        () => client.getCommands('component:default/shop'),
        () => client.createRun('component:default/shop', { image: 'shop:1' }),
      ]) {
        const error = await call().catch(e => e);
        expect(error.name).toBe('NotAllowedError');
        expect(error.message).toBe(
          "No user to act for: release commands are called only on behalf of the user who started this, never with the calling plugin's own credentials",
        );
      }
      expect(callers).toEqual([]);
    },
  );
});
