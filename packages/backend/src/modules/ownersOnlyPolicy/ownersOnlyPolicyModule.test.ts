import { authServiceFactory } from '@backstage/backend-defaults/auth';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { userInfoServiceFactory } from '@backstage/backend-defaults/userInfo';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { AuthenticationError } from '@backstage/errors';
import authBackend from '@backstage/plugin-auth-backend';
import {
  authProvidersExtensionPoint,
  createProxyAuthenticator,
  createProxyAuthProviderFactory,
} from '@backstage/plugin-auth-node';
import catalogBackend from '@backstage/plugin-catalog-backend';
import mcpActionsBackend from '@backstage/plugin-mcp-actions-backend';
import permissionBackend from '@backstage/plugin-permission-backend';
import releaseCommandsBackend from '@release-commands/backstage-plugin-release-commands-backend';
import { ReleaseCommandRun } from '@release-commands/backstage-plugin-release-commands-common';
import { buildBusyboxImage, requireDocker } from '@release-commands/test-utils';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { ownersOnlyPolicyModule } from './ownersOnlyPolicyModule';

// Four plugins on a real permission chain, and real containers, on a shared
// 2-CPU machine: a safety net, not a timing assertion.
jest.setTimeout(120_000);

const OWNER = 'user:default/owner';
const STRANGER = 'user:default/stranger';
const SHOP = 'component:default/shop';
const SHOP_PATH = '/api/release-commands/entities/component/default/shop';
// The pipeline tokens of backend.auth.externalAccess.
const PIPELINE_TOKEN = 'pipeline-token-for-tests';
const READ_ONLY_PIPELINE_TOKEN = 'read-only-pipeline-token-for-tests';

const ENTITIES = `
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-a }
spec: { type: team, children: [], members: [owner] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: owner }
spec: { memberOf: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: stranger }
spec: { memberOf: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: shop }
spec: { type: service, lifecycle: production, owner: group:default/team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: elsewhere }
spec: { type: service, lifecycle: production, owner: user:default/stranger }
`;

/**
 * Signs in the user the `x-test-user` header names, through the auth
 * backend's catalog sign-in: the user entity is looked up in the catalog and
 * the token's ownership claims are the user and its groups, as with any
 * provider that resolves sign-ins with `signInWithCatalogUser`. Only how the
 * user is named differs from a real provider.
 */
const testSignInModule = createBackendModule({
  pluginId: 'auth',
  moduleId: 'test-sign-in',
  register(env) {
    env.registerInit({
      deps: { providers: authProvidersExtensionPoint },
      async init({ providers }) {
        providers.registerProvider({
          providerId: 'test',
          factory: createProxyAuthProviderFactory({
            authenticator: createProxyAuthenticator({
              defaultProfileTransform: async () => ({ profile: {} }),
              initialize: () => undefined,
              async authenticate({ req }) {
                const userEntityRef = req.header('x-test-user');
                if (!userEntityRef) {
                  throw new AuthenticationError('No x-test-user header');
                }
                return { result: { userEntityRef } };
              },
            }),
            signInResolver: async ({ result }, ctx) =>
              ctx.signInWithCatalogUser({ entityRef: result.userEntityRef }),
          }),
        });
      },
    });
  },
});

type Server = Awaited<ReturnType<typeof startTestBackend>>['server'];
type Identity = { token: string; ownershipEntityRefs: string[] };

describe('the owners-only permission policy', () => {
  let dir: string;
  let server: Server;
  let docker: Awaited<ReturnType<typeof requireDocker>>;
  let image: string;
  const runIds: string[] = [];
  let owner: Identity;
  let stranger: Identity;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'owners-only-policy-'));
    const entities = path.join(dir, 'entities.yaml');
    fs.writeFileSync(entities, ENTITIES);

    const backend = await startTestBackend({
      features: [
        authBackend,
        testSignInModule,
        catalogBackend,
        permissionBackend,
        ownersOnlyPolicyModule,
        releaseCommandsBackend,
        mcpActionsBackend,
        // The real token chain in place of the test backend's mock tokens:
        // the permission backend then learns a user's ownership claims from
        // the auth backend, as they were resolved at sign-in.
        authServiceFactory,
        httpAuthServiceFactory,
        userInfoServiceFactory,
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://localhost:3000' },
            backend: {
              baseUrl: 'http://localhost:7007',
              // The plugins whose actions the MCP server offers.
              actions: { pluginSources: ['release-commands'] },
              auth: {
                externalAccess: [
                  {
                    type: 'static',
                    options: { token: PIPELINE_TOKEN, subject: 'pipeline' },
                  },
                  {
                    type: 'static',
                    options: {
                      token: READ_ONLY_PIPELINE_TOKEN,
                      subject: 'read-only-pipeline',
                    },
                    accessRestrictions: [
                      {
                        plugin: 'release-commands',
                        permission: 'release-commands.runs.read',
                      },
                    ],
                  },
                ],
              },
            },
            auth: { providers: { test: {} } },
            permission: { enabled: true },
            catalog: {
              rules: [{ allow: ['Component', 'Group', 'User'] }],
              locations: [{ type: 'file', target: entities }],
            },
            releaseCommands: {
              docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
              images: { allow: [{ image }] },
            },
          },
        }),
      ],
    });
    server = backend.server;

    await waitForCatalog();
    owner = await signIn(OWNER);
    stranger = await signIn(STRANGER);
  });

  afterAll(async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    // A test that failed half-way may leave its sleeping command behind.
    for (const runId of runIds) {
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`org.release-commands.run=${runId}`] },
      });
      for (const { Id } of left) {
        await docker.getContainer(Id).remove({ force: true });
      }
    }
  });

  async function hasRelation(ref: string, type: string): Promise<boolean> {
    const res = await request(server)
      .get(`/api/catalog/entities/by-name/${ref}`)
      .set('Authorization', `Bearer ${PIPELINE_TOKEN}`);
    return (res.body.relations ?? []).some(
      (relation: { type: string }) => relation.type === type,
    );
  }

  /** Until the catalog holds the entities with their relations. */
  async function waitForCatalog() {
    const expected = [
      ['user/default/owner', 'memberOf'],
      ['user/default/stranger', 'ownerOf'],
      ['component/default/shop', 'ownedBy'],
      ['component/default/elsewhere', 'ownedBy'],
    ];
    const until = Date.now() + 60_000;
    for (;;) {
      const loaded = await Promise.all(
        expected.map(([ref, type]) => hasRelation(ref, type)),
      );
      if (loaded.every(Boolean)) return;
      if (Date.now() > until) throw new Error('the catalog never loaded');
      await new Promise(resolve => setTimeout(resolve, 200));
    }
  }

  async function signIn(userEntityRef: string): Promise<Identity> {
    const res = await request(server)
      .get('/api/auth/test/refresh')
      .set('x-test-user', userEntityRef)
      .expect(200);
    const { token, identity } = res.body.backstageIdentity;
    return { token, ownershipEntityRefs: identity.ownershipEntityRefs };
  }

  function as(identity: Identity | string) {
    const token = typeof identity === 'string' ? identity : identity.token;
    const auth = (test: request.Test) =>
      test.set('Authorization', `Bearer ${token}`);
    return {
      get: (url: string) => auth(request(server).get(url)),
      put: (url: string, body: object) =>
        auth(request(server).put(url)).send(body),
      post: (url: string, body: object = {}) =>
        auth(request(server).post(url)).send(body),
      del: (url: string) => auth(request(server).delete(url)),
    };
  }

  const runPath = (id: string) => `/api/release-commands/runs/${id}`;

  async function logOf(id: string): Promise<string> {
    return (
      await as(owner)
        .get(`${runPath(id)}/logs`)
        .expect(200)
    ).text;
  }

  async function waitForLog(id: string, text: string) {
    const until = Date.now() + 60_000;
    while (!(await logOf(id)).includes(text)) {
      if (Date.now() > until) throw new Error(`the log never said ${text}`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  async function waitForEnd(id: string): Promise<ReleaseCommandRun> {
    const until = Date.now() + 60_000;
    for (;;) {
      const { body } = await as(owner).get(runPath(id)).expect(200);
      if (!['queued', 'running'].includes(body.status)) return body;
      if (Date.now() > until) throw new Error(`run ${id} did not end`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  /**
   * As the owner: sets the shop's commands to one that says it started and
   * then waits to be cancelled, and starts a run of it.
   */
  async function startHangingRun(label: string) {
    const { body: read } = await as(owner)
      .get(`${SHOP_PATH}/commands`)
      .expect(200);
    const { body: commands } = await as(owner)
      .put(`${SHOP_PATH}/commands`, {
        revision: read.revision,
        commands: [{ label, command: `echo "${label} started"; sleep 3600` }],
      })
      .expect(200);
    const { body: run } = await as(owner)
      .post(`${SHOP_PATH}/runs`, { image })
      .expect(202);
    runIds.push(run.id);
    await waitForLog(run.id, `${label} started\n`);
    return { commands, run };
  }

  it('takes the ownership claims from the catalog at sign-in', () => {
    expect(owner.ownershipEntityRefs.sort()).toEqual([
      'group:default/team-a',
      OWNER,
    ]);
    expect(stranger.ownershipEntityRefs).toEqual([STRANGER]);
  });

  it('lets a member of the owning group edit, run, read and cancel', async () => {
    const appended = await as(owner)
      .post(`${SHOP_PATH}/commands`, { label: 'Extra', command: 'echo extra' })
      .expect(201);
    await as(owner)
      .del(`${SHOP_PATH}/commands/${appended.body.command.id}`)
      .expect(200);

    const { commands, run } = await startHangingRun('Deploy');
    expect(commands).toMatchObject({
      entityRef: SHOP,
      commands: [{ label: 'Deploy', updatedBy: OWNER }],
    });
    expect(run).toMatchObject({ entityRef: SHOP, triggeredBy: OWNER });
    const read = await as(owner).get(runPath(run.id)).expect(200);
    expect(read.body).toMatchObject({ id: run.id, status: 'running' });
    const list = await as(owner).get(`${SHOP_PATH}/runs`).expect(200);
    expect(list.body.runs.map((r: ReleaseCommandRun) => r.id)).toContain(
      run.id,
    );

    const cancel = await as(owner)
      .post(`${runPath(run.id)}/cancel`)
      .expect(202);
    expect(cancel.body.cancelRequestedBy).toBe(OWNER);
    expect(await waitForEnd(run.id)).toMatchObject({ status: 'cancelled' });
  });

  it('refuses anyone else every route with 403 naming the permission, and nothing changes', async () => {
    const { commands: before, run: active } = await startHangingRun('Migrate');
    const { body: runsBefore } = await as(owner)
      .get(`${SHOP_PATH}/runs`)
      .expect(200);

    const commandId = before.commands[0].id;
    const attempts: Array<[string, request.Test, string]> = [
      [
        'GET commands',
        as(stranger).get(`${SHOP_PATH}/commands`),
        'commands.read',
      ],
      [
        'PUT commands',
        as(stranger).put(`${SHOP_PATH}/commands`, {
          revision: before.revision,
          commands: [{ label: 'Mine', command: 'echo mine' }],
        }),
        'commands.update',
      ],
      [
        'POST commands',
        as(stranger).post(`${SHOP_PATH}/commands`, {
          label: 'Mine',
          command: 'echo mine',
        }),
        'commands.update',
      ],
      [
        'DELETE command',
        as(stranger).del(`${SHOP_PATH}/commands/${commandId}`),
        'commands.update',
      ],
      [
        'POST runs',
        as(stranger).post(`${SHOP_PATH}/runs`, {
          image,
          environment: 'other',
        }),
        'runs.create',
      ],
      ['GET runs', as(stranger).get(`${SHOP_PATH}/runs`), 'runs.read'],
      ['GET run', as(stranger).get(runPath(active.id)), 'runs.read'],
      ['GET logs', as(stranger).get(`${runPath(active.id)}/logs`), 'runs.read'],
      // Refused at reading the run already, before its cancel permission.
      [
        'POST cancel',
        as(stranger).post(`${runPath(active.id)}/cancel`),
        'runs.read',
      ],
    ];
    const answers = [];
    for (const [route, attempt] of attempts) {
      const res = await attempt;
      answers.push([route, res.status, res.body.error?.message]);
    }
    expect(answers).toEqual(
      attempts.map(([route, , permission]) => [
        route,
        403,
        `Not allowed: release-commands.${permission} on ${SHOP}`,
      ]),
    );

    const after = await as(owner).get(`${SHOP_PATH}/commands`).expect(200);
    expect(after.body).toEqual(before);
    const { body: runsAfter } = await as(owner)
      .get(`${SHOP_PATH}/runs`)
      .expect(200);
    expect(runsAfter.runs.map((r: ReleaseCommandRun) => r.id)).toEqual(
      runsBefore.runs.map((r: ReleaseCommandRun) => r.id),
    );
    const { body: still } = await as(owner).get(runPath(active.id)).expect(200);
    expect([still.status, still.cancelRequestedBy]).toEqual(['running', null]);

    await as(owner)
      .post(`${runPath(active.id)}/cancel`)
      .expect(202);
    expect(await waitForEnd(active.id)).toMatchObject({ status: 'cancelled' });
  });

  it('decides per entity: the owner of one is refused on an entity it does not own', async () => {
    const elsewhere =
      '/api/release-commands/entities/component/default/elsewhere';
    const res = await as(owner).get(`${elsewhere}/commands`).expect(403);
    expect(res.body.error.message).toBe(
      'Not allowed: release-commands.commands.read on component:default/elsewhere',
    );
    await as(stranger).get(`${elsewhere}/commands`).expect(200);
  });

  it("gives an MCP client the same answers and refusals, acting with the caller's rights", async () => {
    const { port } = server.address() as AddressInfo;
    const clients: Client[] = [];
    const connect = async (identity: Identity) => {
      const client = new Client({
        name: 'release-commands-test',
        version: '1',
      });
      await client.connect(
        new StreamableHTTPClientTransport(
          new URL(`http://localhost:${port}/api/mcp-actions/v1`),
          {
            requestInit: {
              headers: { Authorization: `Bearer ${identity.token}` },
            },
          },
        ),
      );
      clients.push(client);
      return client;
    };
    try {
      const agent = await connect(owner);
      const { tools } = await agent.listTools();
      const ours = tools.filter(tool =>
        tool.name.startsWith('release-commands.'),
      );
      expect(
        Object.fromEntries(
          ours.map(tool => [tool.name, tool.annotations?.destructiveHint]),
        ),
      ).toEqual({
        'release-commands.get-commands': false,
        'release-commands.list-runs': false,
        'release-commands.get-run': false,
        'release-commands.run': true,
      });

      const { body: list } = await as(owner)
        .get(`${SHOP_PATH}/commands`)
        .expect(200);
      await as(owner)
        .put(`${SHOP_PATH}/commands`, {
          revision: list.revision,
          commands: [{ label: 'Migrate', command: 'echo migrated' }],
        })
        .expect(200);
      const read = await agent.callTool({
        name: 'release-commands.get-commands',
        arguments: { entityRef: SHOP },
      });
      const { body: commands } = await as(owner)
        .get(`${SHOP_PATH}/commands`)
        .expect(200);
      expect(read.structuredContent).toEqual(commands);

      // The stranger's agent is refused as the stranger is, and starts nothing.
      const { body: runsBefore } = await as(owner)
        .get(`${SHOP_PATH}/runs`)
        .expect(200);
      const refused = await (
        await connect(stranger)
      ).callTool({
        name: 'release-commands.run',
        arguments: { entityRef: SHOP, image, environment: 'agents' },
      });
      expect(refused).toMatchObject({
        isError: true,
        content: [
          {
            type: 'text',
            text: `NotAllowedError: Not allowed: release-commands.runs.create on ${SHOP}`,
          },
        ],
      });
      const { body: runsAfter } = await as(owner)
        .get(`${SHOP_PATH}/runs`)
        .expect(200);
      expect(runsAfter.runs).toEqual(runsBefore.runs);

      // The owner's agent starts a real run, as the owner.
      const started = await agent.callTool({
        name: 'release-commands.run',
        arguments: { entityRef: SHOP, image, environment: 'agents' },
      });
      expect(started.isError).toBeFalsy();
      const { run } = started.structuredContent as { run: ReleaseCommandRun };
      runIds.push(run.id);
      expect(run).toMatchObject({
        entityRef: SHOP,
        environment: 'agents',
        triggeredBy: OWNER,
      });
      const ended = await waitForEnd(run.id);
      expect(ended.status).toBe('succeeded');
      const got = await agent.callTool({
        name: 'release-commands.get-run',
        arguments: { runId: run.id },
      });
      expect(got.structuredContent).toMatchObject({
        run: ended,
        logTail: expect.stringContaining('migrated'),
      });
    } finally {
      await Promise.all(clients.map(client => client.close()));
    }
  });

  it("leaves pipelines to their token's access restrictions", async () => {
    await as(PIPELINE_TOKEN).get(`${SHOP_PATH}/commands`).expect(200);
    await as(READ_ONLY_PIPELINE_TOKEN).get(`${SHOP_PATH}/runs`).expect(200);
    const res = await as(READ_ONLY_PIPELINE_TOKEN)
      .get(`${SHOP_PATH}/commands`)
      .expect(403);
    expect(res.body.error.message).toBe(
      `Not allowed: release-commands.commands.read on ${SHOP}`,
    );
  });
});
