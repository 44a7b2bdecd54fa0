import { mockServices } from '@backstage/backend-test-utils';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { createTestDatabases } from '@release-commands/test-utils';
import { DatabaseReleaseCommandsStore } from './DatabaseReleaseCommandsStore';

const { databases, ids } = createTestDatabases();
const SHOP = 'component:default/shop';
const BLOG = 'component:default/blog';

describe.each(ids)('DatabaseReleaseCommandsStore on %p', databaseId => {
  async function createStore() {
    const knex = await databases.init(databaseId);
    const store = await DatabaseReleaseCommandsStore.create({
      database: mockServices.database({ knex }),
    });
    return { knex, store };
  }

  it('starts every entity empty at revision 0', async () => {
    const { store } = await createStore();
    await expect(store.getCommands(SHOP)).resolves.toEqual({
      entityRef: SHOP,
      revision: 0,
      commands: [],
    });
  });

  it('keeps commands in the order written, per entity, and reorders them', async () => {
    const { store } = await createStore();
    const first = await store.replaceCommands({
      entityRef: SHOP,
      revision: 0,
      actor: 'user:default/ada',
      commands: [
        { label: 'Migrate', command: 'python manage.py migrate' },
        {
          label: 'Fix tree',
          command: 'python manage.py cms fix-tree',
          timeoutSeconds: 60,
        },
        { label: 'Check', command: 'python manage.py check', enabled: false },
      ],
    });
    expect(first.revision).toBe(1);
    expect(first.commands.map(c => c.label)).toEqual([
      'Migrate',
      'Fix tree',
      'Check',
    ]);
    expect(first.commands[0]).toMatchObject({
      source: 'user',
      enabled: true,
      timeoutSeconds: null,
      createdBy: 'user:default/ada',
      updatedBy: 'user:default/ada',
    });
    expect(first.commands[1].timeoutSeconds).toBe(60);
    expect(first.commands[2].enabled).toBe(false);
    expect(Date.parse(first.commands[0].createdAt)).not.toBeNaN();

    await store.replaceCommands({
      entityRef: BLOG,
      revision: 0,
      actor: 'user:default/ada',
      commands: [{ label: 'Blog only', command: 'true' }],
    });

    const [migrate, fixTree, check] = first.commands;
    const reordered = await store.replaceCommands({
      entityRef: SHOP,
      revision: 1,
      actor: 'user:default/bob',
      commands: [
        { id: check.id, label: check.label, command: check.command },
        { id: migrate.id, label: 'Migrate database', command: migrate.command },
        { id: fixTree.id, label: fixTree.label, command: fixTree.command },
      ],
    });
    expect(reordered.revision).toBe(2);
    expect(reordered.commands.map(c => c.id)).toEqual([
      check.id,
      migrate.id,
      fixTree.id,
    ]);
    // Omitted optional fields keep their values; identity and creation stay.
    expect(reordered.commands[0].enabled).toBe(false);
    expect(reordered.commands[2].timeoutSeconds).toBe(60);
    expect(reordered.commands[1]).toMatchObject({
      label: 'Migrate database',
      createdBy: 'user:default/ada',
      createdAt: migrate.createdAt,
      updatedBy: 'user:default/bob',
    });
    // Unchanged commands keep who last changed them.
    expect(reordered.commands[2].updatedBy).toBe('user:default/ada');

    expect((await store.getCommands(SHOP)).commands).toEqual(
      reordered.commands,
    );
    expect((await store.getCommands(BLOG)).commands.map(c => c.label)).toEqual([
      'Blog only',
    ]);
  });

  it('refuses a stale revision and writes nothing', async () => {
    const { store } = await createStore();
    await store.replaceCommands({
      entityRef: SHOP,
      revision: 0,
      actor: 'user:default/ada',
      commands: [{ label: 'Migrate', command: 'migrate' }],
    });
    const before = await store.getCommands(SHOP);
    for (const revision of [0, 2, 7]) {
      await expect(
        store.replaceCommands({
          entityRef: SHOP,
          revision,
          actor: 'user:default/bob',
          commands: [],
        }),
      ).rejects.toThrow(ConflictError);
    }
    await expect(store.getCommands(SHOP)).resolves.toEqual(before);
  });

  it('lets exactly one of two concurrent writes on the same revision win', async () => {
    const { store } = await createStore();
    const results = await Promise.allSettled(
      ['a', 'b'].map(who =>
        store.replaceCommands({
          entityRef: SHOP,
          revision: 0,
          actor: `user:default/${who}`,
          commands: [{ label: `By ${who}`, command: who }],
        }),
      ),
    );
    const won = results.filter(r => r.status === 'fulfilled');
    const lost = results.filter(r => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(
      ConflictError,
    );
    const after = await store.getCommands(SHOP);
    expect(after.revision).toBe(1);
    expect(after.commands).toEqual(
      (won[0] as PromiseFulfilledResult<any>).value.commands,
    );
  });

  it('refuses ids of other entities or repeated ids, writing nothing', async () => {
    const { store } = await createStore();
    const { changes, ...blog } = await store.replaceCommands({
      entityRef: BLOG,
      revision: 0,
      actor: 'user:default/ada',
      commands: [{ label: 'Blog', command: 'true' }],
    });
    expect(changes.added).toEqual(['Blog']);
    const foreignId = blog.commands[0].id;
    await expect(
      store.replaceCommands({
        entityRef: SHOP,
        revision: 0,
        actor: 'user:default/ada',
        commands: [{ id: foreignId, label: 'Stolen', command: 'true' }],
      }),
    ).rejects.toThrow(InputError);
    await expect(
      store.replaceCommands({
        entityRef: BLOG,
        revision: 1,
        actor: 'user:default/ada',
        commands: [
          { id: foreignId, label: 'One', command: 'true' },
          { id: foreignId, label: 'Two', command: 'true' },
        ],
      }),
    ).rejects.toThrow(/commands\.1\.id .* appears more than once/);
    await expect(store.getCommands(SHOP)).resolves.toMatchObject({
      revision: 0,
      commands: [],
    });
    await expect(store.getCommands(BLOG)).resolves.toEqual(blog);
  });

  it('appends idempotently for the same source and command', async () => {
    const { store } = await createStore();
    const command = {
      label: 'Migrate database',
      command: 'python manage.py migrate --noinput',
      source: 'framework' as const,
    };
    const first = await store.appendCommand({
      entityRef: SHOP,
      command,
      actor: 'user:default/ada',
    });
    const again = await store.appendCommand({
      entityRef: SHOP,
      command,
      actor: 'user:default/ada',
    });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.command.id).toBe(first.command.id);
    expect(again.list.revision).toBe(1);

    // The same text from another source is a different command.
    const byUser = await store.appendCommand({
      entityRef: SHOP,
      command: { ...command, source: 'user' },
      actor: 'user:default/ada',
    });
    expect(byUser.created).toBe(true);
    const list = await store.getCommands(SHOP);
    expect(list.revision).toBe(2);
    expect(list.commands.map(c => c.source)).toEqual(['framework', 'user']);
  });

  it('keeps appends racing each other and a whole-list write consistent', async () => {
    const { store } = await createStore();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.appendCommand({
          entityRef: SHOP,
          command: { label: `Step ${i}`, command: `echo ${i}`, source: 'api' },
          actor: 'user:default/ada',
        }),
      ),
    );
    // The same command appended twice at once is still one command.
    await Promise.all(
      [1, 2].map(() =>
        store.appendCommand({
          entityRef: SHOP,
          command: { label: 'Once', command: 'echo once', source: 'template' },
          actor: 'user:default/ada',
        }),
      ),
    );
    const list = await store.getCommands(SHOP);
    expect(list.commands).toHaveLength(9);
    expect(list.revision).toBe(9);
    expect(new Set(list.commands.map(c => c.command)).size).toBe(9);
  });

  it('refuses the 101st command', async () => {
    const { store } = await createStore();
    await store.replaceCommands({
      entityRef: SHOP,
      revision: 0,
      actor: 'user:default/ada',
      commands: Array.from({ length: 100 }, (_, i) => ({
        label: `Step ${i}`,
        command: `echo ${i}`,
      })),
    });
    await expect(
      store.appendCommand({
        entityRef: SHOP,
        command: { label: 'One too many', command: 'echo 100', source: 'api' },
        actor: 'user:default/ada',
      }),
    ).rejects.toThrow(/already has 100 commands/);
    expect((await store.getCommands(SHOP)).commands).toHaveLength(100);
  });

  it('deletes one command, closes the gap and bumps the revision', async () => {
    const { store } = await createStore();
    const list = await store.replaceCommands({
      entityRef: SHOP,
      revision: 0,
      actor: 'user:default/ada',
      commands: ['a', 'b', 'c'].map(x => ({ label: x, command: x })),
    });
    const after = await store.deleteCommand({
      entityRef: SHOP,
      id: list.commands[1].id,
      actor: 'user:default/bob',
    });
    expect(after.revision).toBe(2);
    expect(after.commands.map(c => c.label)).toEqual(['a', 'c']);
    // The rest are untouched, and the next append goes at the end.
    expect(after.commands[1]).toEqual(list.commands[2]);
    const appended = await store.appendCommand({
      entityRef: SHOP,
      command: { label: 'd', command: 'd', source: 'api' },
      actor: 'user:default/bob',
    });
    expect(appended.list.commands.map(c => c.label)).toEqual(['a', 'c', 'd']);

    await expect(
      store.deleteCommand({
        entityRef: BLOG,
        id: list.commands[0].id,
        actor: 'user:default/bob',
      }),
    ).rejects.toThrow(NotFoundError);
    expect((await store.getCommands(SHOP)).commands).toHaveLength(3);
  });

  it("removes an entity's commands with its list (cascade)", async () => {
    const { knex, store } = await createStore();
    await store.replaceCommands({
      entityRef: SHOP,
      revision: 0,
      actor: 'user:default/ada',
      commands: [{ label: 'a', command: 'a' }],
    });
    await store.replaceCommands({
      entityRef: BLOG,
      revision: 0,
      actor: 'user:default/ada',
      commands: [{ label: 'b', command: 'b' }],
    });
    if (knex.client.config.client.includes('sqlite')) {
      await knex.raw('PRAGMA foreign_keys = ON');
    }
    await knex('release_command_lists').where({ entity_ref: SHOP }).delete();
    expect(await knex('release_commands').select('entity_ref')).toEqual([
      { entity_ref: BLOG },
    ]);
    await expect(store.getCommands(SHOP)).resolves.toMatchObject({
      revision: 0,
      commands: [],
    });
  });
});
