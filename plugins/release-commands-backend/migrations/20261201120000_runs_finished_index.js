// @ts-check

/**
 * Lets the retention task find the runs that ended longest ago without a scan
 * of every run. Active runs have no `finished_at`, so they are never among
 * them.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('release_command_runs', table => {
    table.index(['finished_at'], 'release_command_runs_finished_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('release_command_runs', table => {
    table.dropIndex(['finished_at'], 'release_command_runs_finished_idx');
  });
};
