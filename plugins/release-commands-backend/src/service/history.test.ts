import { mockCredentials } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  CommandRevision,
  CommandRevisionPage,
} from '@release-commands/backstage-plugin-release-commands-common';
import { createTestDatabases } from '@release-commands/test-utils';
import { Knex } from 'knex';
import request from 'supertest';
import { startPlugin } from '../__testUtils__/startPlugin';

jest.setTimeout(60_000);

const { databases, ids } = createTestDatabases();

const ADA = 'user:default/ada';
const BOB = 'user:default/bob';
/** May read the commands, not change them. */
const READER = 'user:default/reader';
const SHOP = 'component:default/shop';
const COMMANDS =
  '/api/release-commands/entities/component/default/shop/commands';

describe.each(ids)('the commands history on %p', databaseId => {
  let knex: Knex;
  let api: Awaited<ReturnType<typeof startPlugin>>;

  beforeAll(async () => {
    knex = await databases.init(databaseId);
    api = await startPlugin({
      knex,
      permission: (permission, user) =>
        user === READER && permission === 'release-commands.commands.update'
          ? AuthorizeResult.DENY
          : AuthorizeResult.ALLOW,
    });
  });

  afterAll(async () => {
    await api?.stop();
  });

  const as = (user: string) => {
    const auth = (test: request.Test) =>
      test.set('Authorization', mockCredentials.user.header(user));
    return {
      get: (path = '') => auth(request(api.server).get(`${COMMANDS}${path}`)),
      put: (body: object) => auth(request(api.server).put(COMMANDS)).send(body),
      post: (path: string, body: object) =>
        auth(request(api.server).post(`${COMMANDS}${path}`)).send(body),
      del: (path: string) =>
        auth(request(api.server).delete(`${COMMANDS}${path}`)),
    };
  };

  const history = async (query = '') =>
    (await as(ADA).get(`/history${query}`).expect(200))
      .body as CommandRevisionPage;

  it('keeps every write as one revision, with who, when and what it changed, newest first', async () => {
    const started = Date.now();
    const { body: saved } = await as(ADA)
      .put({
        revision: 0,
        commands: [
          { label: 'Migrate', command: './manage.sh migrate' },
          { label: 'Check', command: './manage.sh check' },
        ],
      })
      .expect(200);
    const [migrate, check] = saved.commands;
    const { body: appended } = await as(BOB)
      .post('', { label: 'Warm caches', command: './manage.sh warm' })
      .expect(201);
    await as(ADA)
      .put({
        revision: appended.revision,
        commands: [
          {
            id: check.id,
            label: 'Check',
            command: './manage.sh check --deploy',
          },
          { id: migrate.id, label: 'Migrate', command: './manage.sh migrate' },
          {
            id: appended.command.id,
            label: 'Warm caches',
            command: './manage.sh warm',
          },
        ],
      })
      .expect(200);
    const { body: current } = await as(BOB)
      .del(`/${appended.command.id}`)
      .expect(200);
    expect(current.revision).toBe(4);
    // An append of a command already there writes nothing, so keeps no revision.
    await as(ADA)
      .post('', {
        label: 'Check',
        command: './manage.sh check --deploy',
        source: 'user',
      })
      .expect(200);

    const page = await history();
    expect(
      page.revisions.map(r => [r.revision, r.action, r.changedBy, r.changes]),
    ).toEqual([
      [
        4,
        'delete',
        BOB,
        { added: [], removed: ['Warm caches'], changed: [], reordered: false },
      ],
      [
        3,
        'replace',
        ADA,
        { added: [], removed: [], changed: ['Check'], reordered: true },
      ],
      [
        2,
        'append',
        BOB,
        { added: ['Warm caches'], removed: [], changed: [], reordered: false },
      ],
      [
        1,
        'replace',
        ADA,
        {
          added: ['Migrate', 'Check'],
          removed: [],
          changed: [],
          reordered: false,
        },
      ],
    ]);
    expect(page).not.toHaveProperty('nextCursor');
    // Each keeps the whole list as it then was.
    const [latest, , second] = page.revisions;
    expect(latest.commands).toEqual(current.commands);
    expect(second.commands.map(c => [c.label, c.source])).toEqual([
      ['Migrate', 'user'],
      ['Check', 'user'],
      ['Warm caches', 'api'],
    ]);
    for (const revision of page.revisions) {
      const at = Date.parse(revision.changedAt);
      expect(at).toBeGreaterThanOrEqual(started - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    }

    // Paged, newest first.
    const first = await history('?limit=3');
    expect(first.revisions.map(r => r.revision)).toEqual([4, 3, 2]);
    expect(first.nextCursor).toBe('2');
    const rest = await history(`?limit=3&cursor=${first.nextCursor}`);
    expect(rest.revisions.map(r => r.revision)).toEqual([1]);
    expect(rest).not.toHaveProperty('nextCursor');
  });

  it('restores an older revision as a new one, through the conflict check like any write', async () => {
    const { revisions } = await history();
    const [latest] = revisions;
    const second = revisions.find(r => r.revision === 2)!;

    // From a stale copy: refused, nothing written.
    const stale = await as(ADA)
      .post('/history/2/restore', { revision: latest.revision - 1 })
      .expect(409);
    expect(stale.body.error.message).toBe(
      `The release commands of ${SHOP} changed since revision ${
        latest.revision - 1
      } (now at revision ${latest.revision}); reload them and try again`,
    );
    // Not a revision of the entity; not a number; without the right.
    const missing = await as(ADA)
      .post('/history/99/restore', { revision: latest.revision })
      .expect(404);
    expect(missing.body.error.message).toBe(`${SHOP} has no revision 99`);
    await as(ADA)
      .post('/history/two/restore', { revision: latest.revision })
      .expect(400);
    const refused = await as(READER)
      .post('/history/2/restore', { revision: latest.revision })
      .expect(403);
    expect(refused.body.error.message).toBe(
      `Not allowed: release-commands.commands.update on ${SHOP}`,
    );
    expect((await history()).revisions[0]).toEqual(latest);

    const { body: restored } = await as(BOB)
      .post('/history/2/restore', { revision: latest.revision })
      .expect(200);
    expect(restored.revision).toBe(latest.revision + 1);
    // The commands of revision 2, with their ids and sources, in its order.
    const fields = (commands: CommandRevision['commands']) =>
      commands.map(
        ({ id, label, command, source, enabled, timeoutSeconds }) => ({
          id,
          label,
          command,
          source,
          enabled,
          timeoutSeconds,
        }),
      );
    expect(fields(restored.commands)).toEqual(fields(second.commands));
    const { body: read } = await as(READER).get().expect(200);
    expect(read).toEqual(restored);

    const [made] = (await history()).revisions;
    expect(made).toMatchObject({
      revision: latest.revision + 1,
      action: 'restore',
      changedBy: BOB,
      restoredFrom: 2,
      changes: {
        added: ['Warm caches'],
        removed: [],
        changed: ['Check'],
        reordered: true,
      },
    });
    expect(made.commands).toEqual(restored.commands);
  });

  it('shows the history to a reader of the commands, names a bad query, and stores one row per revision', async () => {
    await as(READER).get('/history').expect(200);
    const bad = await as(ADA).get('/history?limit=0').expect(400);
    expect(bad.body.error.message).toBe('limit must be at least 1');
    const rows = await knex('release_command_revisions').where({
      entity_ref: SHOP,
    });
    expect(rows).toHaveLength((await history()).revisions.length);
  });
});
