import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import releaseCommandsPlugin from '@release-commands/backstage-plugin-release-commands-backend';
import { ReleaseCommandsClient } from '@release-commands/backstage-plugin-release-commands-common';
import net from 'node:net';
import { seedDeclaredCommands } from './seedDeclaredCommands';

jest.setTimeout(60_000);

const SHOP = 'component:default/demo-shop';
const COMMANDS = [
  { label: 'Migrate database', command: './manage.sh migrate' },
  { label: 'Fix tree', command: './manage.sh fix-tree' },
];

/** The entity whose commands are declared, as the portal's catalog has it. */
const DEMO_SHOP_ENTITY = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'demo-shop', namespace: 'default', uid: 'demo-shop-uid' },
  spec: {
    type: 'service',
    lifecycle: 'production',
    owner: 'group:default/shop',
  },
};

/**
 * The release-commands plugin on a test backend, and its API's address;
 * the catalog has the demo shop from the `absentFor`+1st lookup on.
 */
async function startApi(absentFor = 0) {
  let lookups = 0;
  const backend = await startTestBackend({
    features: [
      releaseCommandsPlugin,
      catalogServiceMock.mock({
        getEntityByRef: async () =>
          ++lookups > absentFor ? DEMO_SHOP_ENTITY : undefined,
      }).factory,
      mockServices.rootConfig.factory({
        data: {
          releaseCommands: {
            docker: { host: 'unix:///nonexistent/docker.sock' },
          },
        },
      }),
    ],
  });
  const { port } = backend.server.address() as net.AddressInfo;
  return {
    baseUrl: `http://localhost:${port}/api/release-commands`,
    stop: () => backend.stop(),
  };
}

/** A client as a user, whose first `failures` requests meet `failure`. */
function client(
  baseUrl: string,
  failures: Array<() => Promise<Response>> = [],
): { client: ReleaseCommandsClient; requests: () => number } {
  let requests = 0;
  return {
    requests: () => requests,
    client: new ReleaseCommandsClient({
      baseUrl: async () => baseUrl,
      fetch: async (input, init) => {
        requests += 1;
        const failure = failures.shift();
        if (failure) return failure();
        const headers = new Headers(init?.headers);
        headers.set('Authorization', mockCredentials.user.header());
        return fetch(input, { ...init, headers });
      },
    }),
  };
}

/** A port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

describe('seedDeclaredCommands', () => {
  it('waits while the API is not answering yet (refused, 503), then adds the commands', async () => {
    const api = await startApi();
    const refused = () =>
      Promise.reject(
        new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }),
      );
    const starting = async () =>
      new Response(
        JSON.stringify({
          error: {
            name: 'ServiceUnavailableError',
            message: 'Service has not started up yet',
          },
        }),
        { status: 503, headers: { 'Content-Type': 'application/json' } },
      );
    const { client: seeding, requests } = client(api.baseUrl, [
      refused,
      refused,
      starting,
    ]);

    await expect(
      seedDeclaredCommands({
        client: seeding,
        entityRef: SHOP,
        commands: COMMANDS,
      }),
    ).resolves.toEqual({ outcome: 'added', added: 2, revision: 2 });
    // Three that did not answer, the read, two appends.
    expect(requests()).toBe(6);
    await api.stop();
  });

  it('waits while the catalog has not ingested the entity yet, then adds the commands', async () => {
    const api = await startApi(2);
    const { client: seeding, requests } = client(api.baseUrl);

    await expect(
      seedDeclaredCommands({
        client: seeding,
        entityRef: SHOP,
        commands: COMMANDS,
      }),
    ).resolves.toEqual({ outcome: 'added', added: 2, revision: 2 });
    // Two answered "not in the catalog", the read, two appends.
    expect(requests()).toBe(5);
    await api.stop();
  });

  it('gives up with the reason when the API does not answer in time', async () => {
    const port = await closedPort();
    const { client: seeding } = client(
      `http://127.0.0.1:${port}/api/release-commands`,
    );

    await expect(
      seedDeclaredCommands({
        client: seeding,
        entityRef: SHOP,
        commands: COMMANDS,
        apiWaitMs: 1_000,
      }),
    ).rejects.toThrow(
      /^the release-commands API did not answer within 1 s \(fetch failed: connect ECONNREFUSED/,
    );
  });

  it('does not wait on an answer that refuses: a 403 is final', async () => {
    const api = await startApi();
    const forbidden = async () =>
      new Response(
        JSON.stringify({
          error: { name: 'NotAllowedError', message: 'Not allowed' },
        }),
        { status: 403, headers: { 'Content-Type': 'application/json' } },
      );
    const { client: seeding, requests } = client(api.baseUrl, [forbidden]);

    await expect(
      seedDeclaredCommands({
        client: seeding,
        entityRef: SHOP,
        commands: COMMANDS,
      }),
    ).rejects.toMatchObject({ statusCode: 403 });
    expect(requests()).toBe(1);
    await api.stop();
  });

  it('leaves a list alone once it has been written, even emptied', async () => {
    const api = await startApi();
    const { client: seeding } = client(api.baseUrl);
    const written = await seeding.replaceCommands(SHOP, {
      revision: 0,
      commands: [],
    });
    expect(written.revision).toBe(1);

    await expect(
      seedDeclaredCommands({
        client: seeding,
        entityRef: SHOP,
        commands: COMMANDS,
      }),
    ).resolves.toEqual({ outcome: 'already-written', revision: 1 });
    expect((await seeding.getCommands(SHOP)).commands).toEqual([]);
    await api.stop();
  });
});
