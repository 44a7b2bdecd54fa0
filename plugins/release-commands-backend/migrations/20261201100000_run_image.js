// @ts-check

/**
 * The image a run's steps ran, as resolved once before the first step: its
 * id, and the repository digest a registry serves it by when the engine
 * knows one. `image` stays the reference as the deploy asked for it.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('release_command_runs', table => {
    table
      .string('image_id', 255)
      .nullable()
      .comment('The image id every step ran (sha256:...); null until resolved');
    table
      .string('image_digest', 1024)
      .nullable()
      .comment('name@sha256:... as a registry serves it, when known');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('release_command_runs', table => {
    table.dropColumn('image_digest');
    table.dropColumn('image_id');
  });
};
