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
  if (!database.migrations?.skip) {
    await migrateDatabase(knex);
  }
  return knex;
}
