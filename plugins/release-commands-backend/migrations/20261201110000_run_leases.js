// @ts-check

/**
 * How long an ended run keeps its entity's lock (`active_key`). A run that
 * recovery interrupted may still have a command running in a container of
 * the stopped owner: the lock is kept until that container is removed, or
 * at the latest until this time, when the command's own timeout (plus the
 * stop grace and the stale window) has passed.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('release_command_runs', table => {
    table
      .timestamp('lock_expires_at', { useTz: true })
      .nullable()
      .comment(
        'For an ended run that still holds active_key: when the lock lapses at the latest',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('release_command_runs', table => {
    table.dropColumn('lock_expires_at');
  });
};
