import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@release-commands/backstage-plugin-release-commands-backend',
  'migrations',
);

/**
 * Brings the plugin's tables up to date. Safe to call on every start and from
 * several replicas at once: knex takes its own migration lock.
 */
export async function migrateDatabase(knex: Knex): Promise<void> {
  await knex.migrate.latest({
    directory: migrationsDir,
    tableName: 'release_commands__knex_migrations',
  });
}

/** The plugin's database client, migrated unless the app runs migrations itself. */
export async function migratedClient(database: DatabaseService): Promise<Knex> {
  const knex = await database.getClient();
  await tuneSqlite(knex);
  if (!database.migrations?.skip) {
    await migrateDatabase(knex);
  }
  return knex;
}

/**
 * On SQLite, the plugin's own database file is written in write-ahead
 * logging mode, with `synchronous = NORMAL`: a commit (a running command's
 * log is written several times a second) then appends to the log file
 * instead of copying every page it changes to a rollback journal, and does
 * not wait for the disk; the database stays consistent across a crash, and
 * a power loss may undo the last commits. better-sqlite3 is synchronous, so
 * what a commit costs, every request of the portal waits for.
 */
async function tuneSqlite(knex: Knex) {
  const client = String(knex.client.config.client);
  if (client !== 'better-sqlite3' && client !== 'sqlite3') return;
  await knex.raw('PRAGMA journal_mode = WAL');
  await knex.raw('PRAGMA synchronous = NORMAL');
}
