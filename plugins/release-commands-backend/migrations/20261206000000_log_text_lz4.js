// @ts-check

/**
 * On PostgreSQL, a run's log text is compressed with lz4 rather than the
 * default pglz. PostgreSQL compresses every value over about 2 kB as it is
 * written, in the server process that shares the host's CPUs with the
 * command printing; a log chunk is up to 512 kB. On ordinary log lines lz4
 * writes three times as fast as pglz (about 210 against 63 MB/s in one
 * connection) for the same size on disk, and reads as fast. Only PostgreSQL
 * 14 and later, built with lz4, can; on others (and on SQLite, MySQL) this
 * changes nothing. Chunks written before keep their compression until
 * deleted with their run.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  if (!(await hasLz4(knex))) return;
  await knex.raw(
    'ALTER TABLE release_command_run_logs ALTER COLUMN text SET COMPRESSION lz4',
  );
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  if (!(await hasLz4(knex))) return;
  await knex.raw(
    'ALTER TABLE release_command_run_logs ALTER COLUMN text SET COMPRESSION DEFAULT',
  );
};

/**
 * Whether the database is a PostgreSQL that can compress with lz4: 14 or
 * later (where columns have a compression), built with it.
 *
 * @param {import('knex').Knex} knex
 */
async function hasLz4(knex) {
  if (knex.client.config.client !== 'pg') return false;
  const { rows } = await knex.raw(
    `SELECT 1 FROM pg_settings
      WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`,
  );
  return rows.length > 0;
}
