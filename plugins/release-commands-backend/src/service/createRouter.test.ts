import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { createTestDatabases } from '@release-commands/test-utils';
import { Knex } from 'knex';
import request from 'supertest';
import { anyEntity, startPlugin } from '../__testUtils__/startPlugin';

const { databases, ids } = createTestDatabases();
const SHOP = '/entities/component/default/shop/commands';

const three = [
  { label: 'Migrate database', command: 'python manage.py migrate' },
  { label: 'Fix page tree', command: 'python manage.py cms fix-tree' },
  { label: 'Security checks', command: 'python manage.py check --deploy' },
];

describe('createRouter: commands', () => {
  it('reads an empty list with its revision and the default timeout', async () => {
    const api = await startPlugin();
    const res = await api.get(SHOP);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      entityRef: 'component:default/shop',
      revision: 0,
      defaultTimeoutSeconds: 1800,
      commands: [],
    });
  });

  it('replaces, reorders and reads the list back; refs are case-insensitive', async () => {
    const api = await startPlugin();
    const created = await api.put(SHOP, { revision: 0, commands: three });
    expect(created.status).toBe(200);
    expect(created.body.revision).toBe(1);
    expect(created.body.commands).toEqual(
      three.map(c =>
        expect.objectContaining({
          ...c,
          source: 'user',
          enabled: true,
          timeoutSeconds: null,
          createdBy: 'user:default/ada',
        }),
      ),
    );

    const [a, b, c] = created.body.commands;
    const reordered = await api.put(
      '/entities/Component/default/SHOP/commands',
      {
        revision: 1,
        commands: [
          { id: c.id, label: c.label, command: c.command, enabled: false },
          { id: a.id, label: a.label, command: a.command, timeoutSeconds: 600 },
          { id: b.id, label: b.label, command: b.command },
        ],
      },
    );
    expect(reordered.status).toBe(200);
    const read = await api.get(SHOP);
    expect(read.body.revision).toBe(2);
    expect(
      read.body.commands.map((x: any) => [
        x.label,
        x.enabled,
        x.timeoutSeconds,
      ]),
    ).toEqual([
      ['Security checks', false, null],
      ['Migrate database', true, 600],
      ['Fix page tree', true, null],
    ]);
  });

  it('appends idempotently, with source api unless told', async () => {
    const api = await startPlugin();
    const body = {
      label: 'Migrate',
      command: 'bin/rails db:migrate',
      source: 'template',
    };
    const first = await api.post(SHOP, body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      created: true,
      revision: 1,
      command: { label: 'Migrate', source: 'template' },
    });
    const again = await api.post(SHOP, body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, revision: 1 });
    expect(again.body.command.id).toBe(first.body.command.id);

    const byApi = await api.post(SHOP, {
      label: 'Warm cache',
      command: 'bin/warm',
    });
    expect(byApi.status).toBe(201);
    expect(byApi.body.command.source).toBe('api');
    expect(
      (await api.get(SHOP)).body.commands.map((c: any) => c.label),
    ).toEqual(['Migrate', 'Warm cache']);
  });

  it('deletes one command and answers 404 for an unknown one', async () => {
    const api = await startPlugin();
    const { body } = await api.put(SHOP, { revision: 0, commands: three });
    const res = await api.del(`${SHOP}/${body.commands[1].id}`);
    expect(res.status).toBe(200);
    expect(res.body.commands.map((c: any) => c.label)).toEqual([
      'Migrate database',
      'Security checks',
    ]);
    const missing = await api.del(`${SHOP}/${body.commands[1].id}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.name).toBe('NotFoundError');
    expect((await api.get(SHOP)).body.revision).toBe(2);
  });

  it('lists the framework presets', async () => {
    const api = await startPlugin();
    const res = await api.get('/presets');
    expect(res.status).toBe(200);
    expect(res.body.presets.map((p: any) => p.id)).toEqual(
      expect.arrayContaining([
        'django',
        'django-cms',
        'rails',
        'laravel',
        'prisma',
        'alembic',
        'flask-migrate',
        'phoenix-ecto',
        'knex',
        'typeorm',
      ]),
    );
    for (const preset of res.body.presets) {
      expect(preset.commands.length).toBeGreaterThan(0);
    }
  });

  it('records an audit event for each write, with who, the entity and what changed', async () => {
    const auditor = mockServices.auditor.mock();
    const success = jest.fn();
    const fail = jest.fn();
    auditor.createEvent.mockResolvedValue({ success, fail });
    const api = await startPlugin({ extra: [auditor.factory] });

    await api.put(SHOP, { revision: 0, commands: three.slice(0, 2) });
    expect(auditor.createEvent).toHaveBeenLastCalledWith(
      expect.objectContaining({
        eventId: 'commands-update',
        meta: {
          entityRef: 'component:default/shop',
          action: 'replace',
          revision: 0,
        },
      }),
    );
    expect(success).toHaveBeenLastCalledWith({
      meta: {
        revision: 1,
        changes: {
          added: ['Migrate database', 'Fix page tree'],
          removed: [],
          changed: [],
          reordered: false,
        },
      },
    });

    await api.put(SHOP, { revision: 0, commands: [] });
    expect(fail).toHaveBeenCalledWith({
      error: expect.objectContaining({ name: 'ConflictError' }),
    });
  });
});

describe('createRouter: refusals change nothing', () => {
  const cases: Array<
    [
      string,
      (api: Awaited<ReturnType<typeof startPlugin>>) => Promise<any>,
      number,
      RegExp,
    ]
  > = [
    [
      'an empty label',
      api =>
        api.put(SHOP, { revision: 1, commands: [{ label: '', command: 'x' }] }),
      400,
      /commands\.0\.label must not be empty/,
    ],
    [
      'a label of 101 characters',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x'.repeat(101), command: 'x' }],
        }),
      400,
      /commands\.0\.label must be at most 100 characters/,
    ],
    [
      'an empty command',
      api =>
        api.put(SHOP, { revision: 1, commands: [{ label: 'x', command: '' }] }),
      400,
      /commands\.0\.command must not be empty/,
    ],
    [
      'a command of 4,097 characters',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x', command: 'x'.repeat(4097) }],
        }),
      400,
      /commands\.0\.command must be at most 4096 characters/,
    ],
    [
      'a NUL in a command',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x', command: 'echo a\u0000b' }],
        }),
      400,
      /commands\.0\.command must not contain control characters/,
    ],
    [
      'a newline in a command',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x', command: 'echo a\necho b' }],
        }),
      400,
      /commands\.0\.command must not contain control characters/,
    ],
    [
      'an escape in a label',
      api => api.post(SHOP, { label: 'x\u001b[31m', command: 'true' }),
      400,
      /label must not contain control characters/,
    ],
    [
      'a timeout of 0',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x', command: 'x', timeoutSeconds: 0 }],
        }),
      400,
      /commands\.0\.timeoutSeconds must be at least 1 second/,
    ],
    [
      'a timeout over 24 hours',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x', command: 'x', timeoutSeconds: 86401 }],
        }),
      400,
      /commands\.0\.timeoutSeconds must be at most 86400/,
    ],
    [
      'a fractional timeout',
      api => api.post(SHOP, { label: 'x', command: 'x', timeoutSeconds: 1.5 }),
      400,
      /timeoutSeconds must be a whole number/,
    ],
    [
      '101 commands',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: Array.from({ length: 101 }, (_, i) => ({
            label: `s${i}`,
            command: 'x',
          })),
        }),
      400,
      /commands must hold at most 100 commands/,
    ],
    [
      'an unknown field',
      api => api.put(SHOP, { revision: 1, commands: [], force: true }),
      400,
      /unknown field "force"/,
    ],
    [
      'an unknown field in a command',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x', command: 'x', shell: 'bash' }],
        }),
      400,
      /commands\.0: unknown field "shell"/,
    ],
    [
      'a missing revision',
      api => api.put(SHOP, { commands: [] }),
      400,
      /revision is required/,
    ],
    [
      'a stale revision',
      api => api.put(SHOP, { revision: 0, commands: [] }),
      409,
      /changed since revision 0 \(now at revision 1\)/,
    ],
    [
      'an id from nowhere',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [
            {
              id: '6f1d2a4e-3b5c-4d7e-8f90-123456789abc',
              label: 'x',
              command: 'x',
            },
          ],
        }),
      400,
      /commands\.0\.id .* is not one of the commands/,
    ],
    [
      'an unknown source',
      api => api.post(SHOP, { label: 'x', command: 'x', source: 'root' }),
      400,
      /source/,
    ],
    [
      'a body that is not an object',
      api => api.post(SHOP, ['x']),
      400,
      /body: /,
    ],
    [
      'malformed JSON',
      api =>
        api
          .put(SHOP)
          .set('Content-Type', 'application/json')
          .send('{"revision": 1,'),
      400,
      /body: not valid JSON/,
    ],
    [
      'a body over 256 KiB',
      api =>
        api.put(SHOP, {
          revision: 1,
          commands: [{ label: 'x', command: 'x'.repeat(300 * 1024) }],
        }),
      413,
      /body: larger than the 256 KiB limit/,
    ],
    [
      'a malformed kind',
      api =>
        api.put('/entities/comp~onent/default/shop/commands', {
          revision: 1,
          commands: [],
        }),
      400,
      /kind must be a catalog kind/,
    ],
    [
      'a malformed name',
      api =>
        api.post('/entities/component/default/-shop-/commands', {
          label: 'x',
          command: 'x',
        }),
      400,
      /name must be a catalog entity name/,
    ],
  ];

  it.each(cases)('refuses %s', async (_what, send, status, message) => {
    const api = await startPlugin();
    await api.put(SHOP, { revision: 0, commands: three }).expect(200);
    const before = (await api.get(SHOP)).body;

    const res = await send(api);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);

    expect((await api.get(SHOP)).body).toEqual(before);
  });

  it('accepts a tab in a command', async () => {
    const api = await startPlugin();
    const res = await api.post(SHOP, {
      label: 'Tabbed',
      command: 'printf "a\\tb"\t&& true',
    });
    expect(res.status).toBe(201);
  });
});

describe('createRouter: permissions', () => {
  it.each([
    ['GET commands', (api: any) => api.get(SHOP)],
    [
      'PUT commands',
      (api: any) => api.put(SHOP, { revision: 1, commands: [] }),
    ],
    [
      'POST a command',
      (api: any) => api.post(SHOP, { label: 'x', command: 'x' }),
    ],
    [
      'DELETE a command',
      (api: any) => api.del(`${SHOP}/6f1d2a4e-3b5c-4d7e-8f90-123456789abc`),
    ],
  ])(
    'answers 403 to %s without the permission, writing nothing',
    async (_what, send) => {
      const knex = await databases.init('SQLITE_3');
      const allowed = await startPlugin({
        knex,
        permission: AuthorizeResult.ALLOW,
      });
      await allowed.put(SHOP, { revision: 0, commands: three }).expect(200);
      const before = (await allowed.get(SHOP)).body;

      const denied = await startPlugin({
        knex,
        permission: AuthorizeResult.DENY,
      });
      const res = await send(denied);
      expect(res.status).toBe(403);
      expect(res.body.error.name).toBe('NotAllowedError');
      expect(res.body.error.message).toMatch(
        /^Not allowed: release-commands\.commands\.(read|update) on component:default\/shop$/,
      );

      expect((await allowed.get(SHOP)).body).toEqual(before);
    },
  );

  it('answers 401 to requests without credentials, except /health', async () => {
    const api = await startPlugin();
    const none = mockCredentials.none.header();
    const statuses: Record<string, number> = {};
    for (const path of [SHOP, '/presets', '/health']) {
      const res = await request(api.server)
        .get(`/api/release-commands${path}`)
        .set('Authorization', none);
      statuses[path] = res.status;
    }
    expect(statuses).toEqual({ [SHOP]: 401, '/presets': 401, '/health': 200 });
  });
});

describe.each(ids)('createRouter: concurrent writers on %p', databaseId => {
  it('lets exactly one of two PUTs on the same revision win; the other gets 409', async () => {
    const knex = await databases.init(databaseId);
    const api = await startPlugin({ knex });
    await api.put(SHOP, { revision: 0, commands: three }).expect(200);

    const [first, second] = await Promise.all([
      api.put(SHOP, { revision: 1, commands: [three[0]] }),
      api.put(SHOP, { revision: 1, commands: [three[1], three[2]] }),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 409]);
    const winner = first.status === 200 ? first : second;
    const read = await api.get(SHOP);
    expect(read.body.revision).toBe(2);
    expect(read.body.commands).toEqual(winner.body.commands);
  });
});

describe.each(ids)(
  'createRouter: entities the catalog knows, on %p',
  databaseId => {
    const count = async (knex: Knex, table: string) =>
      Number((await knex(table).count({ n: '*' }))[0].n);

    it('refuses commands and runs for an entity the catalog does not have with 404, writing nothing', async () => {
      const knex = await databases.init(databaseId);
      const api = await startPlugin({
        knex,
        entities: [anyEntity('component:default/shop')],
      });
      const ghost = '/entities/component/default/ghost';
      const message =
        'component:default/ghost is not in the catalog (or not visible to you): release commands are kept and run only for entities the catalog knows';
      for (const res of [
        await api.get(`${ghost}/commands`),
        await api.put(`${ghost}/commands`, { revision: 0, commands: three }),
        await api.post(`${ghost}/commands`, three[0]),
        await api.del(`${ghost}/commands/00000000-0000-4000-8000-000000000000`),
        await api.post(`${ghost}/runs`, { image: 'release-commands-test/x:1' }),
      ]) {
        expect([
          res.status,
          res.body.error?.name,
          res.body.error?.message,
        ]).toEqual([404, 'NotFoundError', message]);
      }
      expect(await count(knex, 'release_command_lists')).toBe(0);
      expect(await count(knex, 'release_commands')).toBe(0);
      expect(await count(knex, 'release_command_runs')).toBe(0);

      // The entity the catalog has is served as before.
      await api.put(SHOP, { revision: 0, commands: three }).expect(200);
      expect((await api.get(SHOP).expect(200)).body.commands).toHaveLength(3);
      await api.stop();
    });

    it("gives a new entity by a deleted one's name none of its commands", async () => {
      const knex = await databases.init(databaseId);
      let uid = 'first-shop';
      const api = await startPlugin({
        knex,
        getEntityByRef: async ref =>
          ref === 'component:default/shop'
            ? { ...anyEntity(ref), metadata: { name: 'shop', uid } }
            : undefined,
      });
      await api.put(SHOP, { revision: 0, commands: three }).expect(200);
      expect((await api.get(SHOP)).body).toMatchObject({ revision: 1 });

      // The first shop is deleted and another registered under its name.
      uid = 'second-shop';
      const read = await api.get(SHOP).expect(200);
      expect(read.body).toMatchObject({ revision: 2, commands: [] });
      // Its own commands are its own from then on.
      await api.put(SHOP, { revision: 2, commands: [three[0]] }).expect(200);
      const again = await api.get(SHOP).expect(200);
      expect(again.body.revision).toBe(3);
      expect(
        again.body.commands.map((c: { label: string }) => c.label),
      ).toEqual([three[0].label]);
      expect(
        await knex('release_command_lists').select('entity_ref', 'entity_uid'),
      ).toEqual([
        { entity_ref: 'component:default/shop', entity_uid: 'second-shop' },
      ]);
      await api.stop();
    });

    it('claims commands written before entities were tracked for the entity that has the ref', async () => {
      const knex = await databases.init(databaseId);
      const api = await startPlugin({ knex });
      await api.put(SHOP, { revision: 0, commands: three }).expect(200);
      // As a list written before the entity was recorded is.
      await knex('release_command_lists').update({ entity_uid: null });
      const read = await api.get(SHOP).expect(200);
      expect(read.body).toMatchObject({ revision: 1 });
      expect(read.body.commands).toHaveLength(3);
      expect(await knex('release_command_lists').select('entity_uid')).toEqual([
        { entity_uid: 'uid-of-component:default/shop' },
      ]);
      await api.stop();
    });
  },
);
