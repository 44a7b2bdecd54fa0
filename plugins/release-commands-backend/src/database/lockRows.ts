import { Knex } from 'knex';

/**
 * Runs a select that locks the rows it reads until the transaction ends. This
 * is the one place where the databases differ: PostgreSQL needs `FOR UPDATE`
 * so that concurrent writers queue on the rows; SQLite already runs one write
 * transaction at a time.
 */
export function lockRows<T>(
  tx: Knex.Transaction,
  query: Knex.QueryBuilder<any, T>,
): Knex.QueryBuilder<any, T> {
  return tx.client.config.client === 'pg' ? query.forUpdate() : query;
}
