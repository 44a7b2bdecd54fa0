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
  if (knex.client.config.client !== 'pg') return;
  const { rows } = await knex.raw(
    `SELECT 1 FROM pg_settings
      WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`,
  );
  if (rows.length === 0) return;
  await knex.raw(
    'ALTER TABLE release_command_run_logs ALTER COLUMN text SET COMPRESSION lz4',
  );
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  if (knex.client.config.client !== 'pg') return;
  const { rows } = await knex.raw(
    `SELECT 1 FROM pg_attribute
      WHERE attrelid = 'release_command_run_logs'::regclass
        AND attname = 'text' AND attcompression = 'l'`,
  );
  if (rows.length === 0) return;
  await knex.raw(
    'ALTER TABLE release_command_run_logs ALTER COLUMN text SET COMPRESSION DEFAULT',
  );
};
