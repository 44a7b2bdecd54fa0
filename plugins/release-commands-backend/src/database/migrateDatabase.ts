import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@internal/backstage-plugin-release-commands-backend',
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
