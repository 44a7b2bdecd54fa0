import { DatabaseService } from '@backstage/backend-plugin-api';
import { createTestDatabases } from '@release-commands/test-utils';
import knexFactory from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migratedClient, migrateDatabase } from './migrateDatabase';

const { databases, ids } = createTestDatabases();

describe.each(ids)('migrateDatabase on %p', databaseId => {
  it('creates the command tables, is idempotent, and cascades list deletes', async () => {
    const knex = await databases.init(databaseId);
    await migrateDatabase(knex);
    await migrateDatabase(knex);

    expect(await knex.schema.hasTable('release_command_lists')).toBe(true);
    expect(await knex.schema.hasTable('release_commands')).toBe(true);

    await knex('release_command_lists').insert({
      entity_ref: 'component:default/shop',
      revision: 1,
    });
    await knex('release_commands').insert({
      id: '00000000-0000-4000-8000-000000000001',
      entity_ref: 'component:default/shop',
      position: 0,
      label: 'Migrate database',
      command: 'python manage.py migrate',
      source: 'user',
    });
    const [row] = await knex('release_commands').select();
    expect(row).toMatchObject({
      label: 'Migrate database',
      command: 'python manage.py migrate',
      timeout_seconds: null,
    });
    expect(Boolean(row.enabled)).toBe(true);

    // Two commands cannot share a position within one list.
    // Compared by message: errors from the native SQLite driver do not always
    // pass Jest's Error checks.
    const duplicate = await knex('release_commands')
      .insert({
        id: '00000000-0000-4000-8000-000000000002',
        entity_ref: 'component:default/shop',
        position: 0,
        label: 'Again',
        command: 'true',
        source: 'user',
      })
      .then(
        () => undefined,
        (error: Error) => error,
      );
    expect(duplicate?.message).toMatch(
      /UNIQUE constraint failed|duplicate key/,
    );

    if (knex.client.config.client.includes('sqlite')) {
      // SQLite enforces foreign keys only when asked per connection.
      await knex.raw('PRAGMA foreign_keys = ON');
    }
    await knex('release_command_lists')
      .where({ entity_ref: 'component:default/shop' })
      .delete();
    const [{ n }] = await knex('release_commands').count({ n: '*' });
    expect(Number(n)).toBe(0);
  });
});

describe('migratedClient on a SQLite file', () => {
  it('writes it ahead to a log, without waiting for the disk at each commit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-sqlite-'));
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, 'release-commands.sqlite') },
      useNullAsDefault: true,
    });
    try {
      const database = { getClient: async () => knex } as DatabaseService;
      await migratedClient(database);
      const [mode] = await knex.raw('PRAGMA journal_mode');
      const [sync] = await knex.raw('PRAGMA synchronous');
      expect(mode).toEqual({ journal_mode: 'wal' });
      // 1 is NORMAL (2, the default, is FULL).
      expect(sync).toEqual({ synchronous: 1 });
      expect(await knex.schema.hasTable('release_command_runs')).toBe(true);
    } finally {
      await knex.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
