// @ts-check

/**
 * Each entity's ordered list of release commands. The list row carries the
 * revision that every write must name, so concurrent editors get a conflict
 * instead of silently overwriting each other.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('release_command_lists', table => {
    table.comment('One row per entity that has (or had) release commands');
    table
      .string('entity_ref', 255)
      .primary()
      .notNullable()
      .comment('Normalised kind:namespace/name');
    table
      .integer('revision')
      .notNullable()
      .defaultTo(0)
      .comment('Increases by one on every write to the list');
    table.string('updated_by', 255).nullable();
    table
      .timestamp('updated_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('release_commands', table => {
    table.comment('The commands of each entity, in run order');
    table.string('id', 36).primary().notNullable();
    table
      .string('entity_ref', 255)
      .notNullable()
      .references('entity_ref')
      .inTable('release_command_lists')
      .onDelete('CASCADE');
    table.integer('position').notNullable();
    table.string('label', 100).notNullable();
    table.text('command').notNullable();
    table
      .string('source', 32)
      .notNullable()
      .comment('user, template, framework or api');
    table.boolean('enabled').notNullable().defaultTo(true);
    table
      .integer('timeout_seconds')
      .nullable()
      .comment('Null means the configured default');
    table.string('created_by', 255).nullable();
    table
      .timestamp('created_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now());
    table.string('updated_by', 255).nullable();
    table
      .timestamp('updated_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now());
    table.unique(['entity_ref', 'position']);
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('release_commands');
  await knex.schema.dropTable('release_command_lists');
};
