// @ts-check

/**
 * Every write to an entity's list kept as a revision: who, when, what it
 * changed, and the whole list as it then was, so that the tab can show the
 * history and bring an older list back. Lists written before have their
 * history from their next write on. Runs record the revision they ran.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('release_command_revisions', table => {
    table.comment('One row per write to an entity list of release commands');
    table.string('entity_ref', 255).notNullable();
    table.integer('revision').notNullable();
    table
      .string('action', 32)
      .notNullable()
      .comment('replace, append, delete, restore or rebind');
    table.string('changed_by', 255).nullable();
    table.timestamp('changed_at', { useTz: true }).notNullable();
    table
      .integer('restored_from')
      .nullable()
      .comment('For a restore, the revision brought back');
    table
      .text('changes')
      .notNullable()
      .comment('JSON: labels added, removed, changed, and whether reordered');
    table
      .text('commands')
      .notNullable()
      .comment('JSON: the whole list after the write, in run order');
    table.primary(['entity_ref', 'revision']);
  });
  await knex.schema.alterTable('release_command_runs', table => {
    table
      .integer('commands_revision')
      .nullable()
      .comment('The revision of the list the run took its steps from');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('release_command_runs', table => {
    table.dropColumn('commands_revision');
  });
  await knex.schema.dropTable('release_command_revisions');
};
