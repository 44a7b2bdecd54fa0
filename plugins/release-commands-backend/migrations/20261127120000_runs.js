// @ts-check

/**
 * Runs of an entity's release commands, their steps and their logs.
 *
 * `active_key` is what makes "one active run per entity and environment" hold
 * across backend replicas: it is set while a run is queued or running and
 * cleared when it ends, and a unique index refuses a second active run. Both
 * SQLite and PostgreSQL allow any number of NULLs under a unique index.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('release_command_runs', table => {
    table.comment('One row per run of an entity release commands');
    table.string('id', 36).primary().notNullable();
    table.string('entity_ref', 255).notNullable();
    table.string('environment', 63).notNullable();
    table.string('image', 512).notNullable();
    table
      .string('status', 16)
      .notNullable()
      .comment(
        'queued, running, succeeded, failed, timed_out, cancelled, interrupted',
      );
    table.string('trigger', 16).notNullable();
    table.string('triggered_by', 255).notNullable();
    table
      .text('env_keys')
      .notNullable()
      .comment('JSON array of variable names; values are never stored');
    table.text('reason').nullable();
    table
      .string('active_key', 330)
      .nullable()
      .unique()
      .comment('entity_ref and environment while the run is active, else null');
    table.string('owner_instance', 255).notNullable();
    table.timestamp('heartbeat_at', { useTz: true }).notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('started_at', { useTz: true }).nullable();
    table.timestamp('finished_at', { useTz: true }).nullable();
    table.timestamp('cancel_requested_at', { useTz: true }).nullable();
    table.string('cancel_requested_by', 255).nullable();
    table.index(
      ['entity_ref', 'created_at'],
      'release_command_runs_entity_idx',
    );
    table.index(['status', 'created_at'], 'release_command_runs_status_idx');
  });

  await knex.schema.createTable('release_command_run_steps', table => {
    table.comment('A snapshot of each command at run start, and how it went');
    table
      .string('run_id', 36)
      .notNullable()
      .references('id')
      .inTable('release_command_runs')
      .onDelete('CASCADE');
    table.integer('position').notNullable();
    table.string('label', 100).notNullable();
    table.text('command').notNullable();
    table.integer('timeout_seconds').notNullable();
    table.string('status', 16).notNullable();
    table.integer('exit_code').nullable();
    table.boolean('oom_killed').notNullable().defaultTo(false);
    table.string('container_id', 128).nullable();
    table.timestamp('started_at', { useTz: true }).nullable();
    table.timestamp('finished_at', { useTz: true }).nullable();
    table.primary(['run_id', 'position']);
  });

  await knex.schema.createTable('release_command_run_logs', table => {
    table.comment('Ordered chunks of each run log, capped per run');
    table
      .string('run_id', 36)
      .notNullable()
      .references('id')
      .inTable('release_command_runs')
      .onDelete('CASCADE');
    table.integer('seq').notNullable();
    table.integer('step').nullable();
    table.string('stream', 8).notNullable().comment('stdout, stderr or system');
    table.timestamp('at', { useTz: true }).notNullable();
    table.text('text').notNullable();
    table.primary(['run_id', 'seq']);
  });

  await knex.schema.createTable('release_command_scheduler', table => {
    table.comment(
      'A single row that schedulers lock while they count running runs, so the global cap holds across replicas',
    );
    table.integer('id').primary().notNullable();
  });
  await knex('release_command_scheduler').insert({ id: 1 });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('release_command_scheduler');
  await knex.schema.dropTable('release_command_run_logs');
  await knex.schema.dropTable('release_command_run_steps');
  await knex.schema.dropTable('release_command_runs');
};
