import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  Entity,
  RELATION_HAS_MEMBER,
  RELATION_MEMBER_OF,
  RELATION_OWNED_BY,
  RELATION_OWNER_OF,
} from '@backstage/catalog-model';
import notificationsPlugin from '@backstage/plugin-notifications-backend';
import { notificationService } from '@backstage/plugin-notifications-node';
import { ReleaseCommandRun } from '@release-commands/backstage-plugin-release-commands-common';
import {
  buildBusyboxImage,
  createTestDatabases,
  requireDocker,
} from '@release-commands/test-utils';
import request from 'supertest';
import { startPlugin } from '../__testUtils__/startPlugin';
import { DatabaseRunsStore } from '../database/DatabaseRunsStore';
import { readNotificationSettings, RunNotifier } from '../runs/RunNotifier';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(120_000);

const { databases, ids } = createTestDatabases();

const ADA = 'user:default/ada';
const BOB = 'user:default/bob';
const MALLORY = 'user:default/mallory';
const PORTAL = 'https://portal.example.com';

/** The team owns the services; ada and bob are in it, mallory is not. */
function catalog(services: string[]): Entity[] {
  const user = (name: string, team?: string): Entity => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name, namespace: 'default' },
    spec: {},
    relations: team
      ? [{ type: RELATION_MEMBER_OF, targetRef: 'group:default/team' }]
      : [],
  });
  return [
    {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Group',
      metadata: { name: 'team', namespace: 'default' },
      spec: { type: 'team', children: [] },
      relations: [
        { type: RELATION_HAS_MEMBER, targetRef: ADA },
        { type: RELATION_HAS_MEMBER, targetRef: BOB },
        ...services.map(name => ({
          type: RELATION_OWNER_OF,
          targetRef: `component:default/${name}`,
        })),
      ],
    },
    user('ada', 'team'),
    user('bob', 'team'),
    user('mallory'),
    ...services.map(
      (name): Entity => ({
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name, namespace: 'default', uid: `uid-of-${name}` },
        spec: { type: 'service', lifecycle: 'production', owner: 'team' },
        relations: [
          { type: RELATION_OWNED_BY, targetRef: 'group:default/team' },
        ],
      }),
    ),
  ];
}

type Notification = {
  id: string;
  user: string;
  origin: string;
  payload: {
    title: string;
    description?: string;
    link?: string;
    severity?: string;
    topic?: string;
    scope?: string;
  };
};

describe.each(ids)('run notifications on %p', databaseId => {
  const suffix = databaseId.toLowerCase();
  const shop = `told-${suffix}`;
  const calm = `calm-${suffix}`;
  let image: string;
  let api: Awaited<ReturnType<typeof startPlugin>>;
  /** Sends as the plugin itself would, for the same run's second outcome. */
  let sendAsThePlugin: (run: ReleaseCommandRun) => Promise<void>;

  beforeAll(async () => {
    image = await buildBusyboxImage(await requireDocker());
    const knex = await databases.init(databaseId);
    const config = {
      app: { baseUrl: PORTAL },
      releaseCommands: {
        docker: { networkMode: 'none' },
        notifications: { environments: { staging: { success: true } } },
      },
    };
    api = await startPlugin({
      knex,
      config,
      entities: catalog([shop, calm]),
      extra: [
        notificationsPlugin,
        createBackendModule({
          pluginId: 'release-commands',
          moduleId: 'test-second-outcome',
          register(env) {
            env.registerInit({
              deps: {
                notifications: notificationService,
                database: coreServices.database,
                logger: coreServices.logger,
                rootConfig: coreServices.rootConfig,
              },
              async init(deps) {
                const notifier = new RunNotifier({
                  runsStore: await DatabaseRunsStore.create(deps),
                  notifications: deps.notifications,
                  settings: readNotificationSettings(deps.rootConfig),
                  appBaseUrl: PORTAL,
                  logger: deps.logger,
                });
                sendAsThePlugin = run =>
                  deps.notifications.send(notifier.notificationFor(run)!);
              },
            });
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await api?.stop();
  });

  async function notificationsOf(user: string): Promise<Notification[]> {
    const { body } = await request(api.server)
      .get('/api/notifications/notifications')
      .set('Authorization', mockCredentials.user.header(user))
      .expect(200);
    return body.notifications;
  }

  /** The user's notifications of `scope`, once `done` holds for them. */
  async function waitForNotifications(
    user: string,
    scope: string,
    done: (found: Notification[]) => boolean,
  ): Promise<Notification[]> {
    const until = Date.now() + 60_000;
    for (;;) {
      const found = (await notificationsOf(user)).filter(
        n => n.payload.scope === scope,
      );
      if (done(found)) return found;
      if (Date.now() > until) {
        throw new Error(
          `${user}'s notifications of ${scope} stayed ${JSON.stringify(found)}`,
        );
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  async function deploy(
    name: string,
    command: string,
    environment?: string,
  ): Promise<ReleaseCommandRun> {
    const path = `/entities/component/default/${name}`;
    const { body: list } = await api.get(`${path}/commands`).expect(200);
    await api
      .put(`${path}/commands`, {
        revision: list.revision,
        commands: [{ label: 'Migrate', command }],
      })
      .expect(200);
    const { body: run } = await api
      .post(`${path}/runs`, { image, environment })
      .expect(202);
    const until = Date.now() + 60_000;
    for (;;) {
      const { body } = await api.get(`/runs/${run.id}`).expect(200);
      if (!['queued', 'running'].includes(body.status)) return body;
      if (Date.now() > until) throw new Error(`run ${run.id} did not end`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  it("tells the owner group's members of a failed run, once, with its link", async () => {
    const run = await deploy(shop, 'echo migrating; exit 3');
    expect(run.status).toBe('failed');

    const [toAda] = await waitForNotifications(ADA, run.id, f => f.length > 0);
    expect(toAda).toMatchObject({
      user: ADA,
      origin: 'plugin:release-commands',
      payload: {
        title: `Release commands of ${shop} failed`,
        description: run.reason,
        link: `${PORTAL}/catalog/default/component/${shop}/release-commands?run=${run.id}`,
        severity: 'high',
        topic: 'release-commands',
        scope: run.id,
      },
    });
    expect(run.reason).toMatch(/exit/i);
    const toBob = await waitForNotifications(BOB, run.id, f => f.length > 0);
    expect(toBob.map(n => n.payload.title)).toEqual([toAda.payload.title]);
    // Not in the team: told nothing.
    expect(
      (await notificationsOf(MALLORY)).filter(n => n.payload.scope === run.id),
    ).toEqual([]);

    // A second outcome of the same run replaces the first.
    await sendAsThePlugin({
      ...run,
      status: 'interrupted',
      reason: 'The backend instance running this deploy stopped.',
    });
    const updated = await waitForNotifications(
      ADA,
      run.id,
      f => f.length === 1 && f[0].payload.title.includes('interrupted'),
    );
    expect(updated).toEqual([
      expect.objectContaining({
        id: toAda.id,
        payload: expect.objectContaining({
          title: `Release commands of ${shop} were interrupted`,
          description: 'The backend instance running this deploy stopped.',
          scope: run.id,
        }),
      }),
    ]);
  });

  it('says nothing of a success by default, and tells one where the environment asks', async () => {
    const quiet = await deploy(calm, 'echo migrated');
    expect(quiet.status).toBe('succeeded');
    // A failure after it is told; by then the success would have been.
    const failed = await deploy(calm, 'exit 1');
    await waitForNotifications(ADA, failed.id, f => f.length > 0);
    expect(
      (await notificationsOf(ADA)).filter(n => n.payload.scope === quiet.id),
    ).toEqual([]);

    const told = await deploy(calm, 'echo migrated', 'staging');
    expect(told.status).toBe('succeeded');
    const [notification] = await waitForNotifications(
      ADA,
      told.id,
      f => f.length > 0,
    );
    expect(notification.payload).toMatchObject({
      title: `Release commands of ${calm} succeeded in staging`,
      description: `1 command passed on ${image}.`,
      severity: 'low',
    });
  });
});
