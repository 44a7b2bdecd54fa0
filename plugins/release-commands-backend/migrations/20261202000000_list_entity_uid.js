// @ts-check

/**
 * Which catalog entity (by its `metadata.uid`) an entity ref's commands
 * belong to, so that a new entity given a deleted one's name does not
 * inherit its commands. Lists written before are claimed by the first
 * entity seen with their ref.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('release_command_lists', table => {
    table
      .string('entity_uid', 255)
      .nullable()
      .comment('metadata.uid of the catalog entity the commands belong to');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('release_command_lists', table => {
    table.dropColumn('entity_uid');
  });
};
