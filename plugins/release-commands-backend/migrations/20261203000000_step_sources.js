// @ts-check

/**
 * Where each step of a run came from: the tab's list (with the command's
 * source there) or a declaration in the entity's repository or its image,
 * with the file or image that declared it and which version. Steps of
 * earlier runs have none.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('release_command_run_steps', table => {
    table
      .string('source', 32)
      .nullable()
      .comment('user, template, framework, api, repository or image');
    table
      .text('declared_in')
      .nullable()
      .comment('For a declared command, the file or image that declared it');
    table
      .string('declared_revision', 255)
      .nullable()
      .comment('The sha256 of the file, or the image id, as read');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('release_command_run_steps', table => {
    table.dropColumn('source');
    table.dropColumn('declared_in');
    table.dropColumn('declared_revision');
  });
};
