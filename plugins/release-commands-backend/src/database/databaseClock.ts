import { Knex } from 'knex';

/**
 * The database's clock, which every replica shares: leases are written and
 * compared with it rather than with each process's own clock, which may
 * drift. PostgreSQL is asked; SQLite lives in this process (one host), whose
 * clock is the database's.
 */
export async function databaseNow(db: Knex | Knex.Transaction): Promise<Date> {
  if (db.client.config.client === 'pg') {
    const result = await db.raw('select clock_timestamp() as now');
    return new Date(result.rows[0].now);
  }
  return new Date();
}
