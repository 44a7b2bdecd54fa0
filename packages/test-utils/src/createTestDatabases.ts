import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';

const POSTGRES_ENV = 'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING';

/** The databases a store test runs on, for `describe.each(ids)`. */
export type TestDatabaseSet = {
  databases: TestDatabases;
  ids: TestDatabaseId[];
};

/**
 * SQLite always, and PostgreSQL 15 when a server is given through
 * `BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING`. Under CI a missing
 * server is an error, not a quiet fall-back to SQLite alone. Call it at the top
 * level of a test file: it registers the hooks that clean the databases up.
 */
export function createTestDatabases(): TestDatabaseSet {
  const hasPostgres = Boolean(process.env[POSTGRES_ENV]);
  if (!hasPostgres && process.env.CI) {
    throw new Error(
      `PostgreSQL is required under CI: set ${POSTGRES_ENV} (the test command starts a throwaway server)`,
    );
  }
  const ids: TestDatabaseId[] = hasPostgres
    ? ['SQLITE_3', 'POSTGRES_15']
    : ['SQLITE_3'];
  if (!hasPostgres) {
    // Loud on purpose: a developer should know PostgreSQL was not exercised.
    // eslint-disable-next-line no-console
    console.warn(`${POSTGRES_ENV} is not set: running on SQLite only`);
  }
  return { databases: TestDatabases.create({ ids }), ids };
}
