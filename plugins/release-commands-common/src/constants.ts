/**
 * The id that every release-commands package registers under.
 *
 * @public
 */
export const RELEASE_COMMANDS_PLUGIN_ID = 'release-commands';

/**
 * How long one command may run when neither the command nor the config says
 * otherwise: 30 minutes, as deploy platforms usually allow a release phase.
 *
 * @public
 */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 30 * 60;

/**
 * Set to `1` in every container that runs a release command, so an
 * application can tell a release phase from normal serving.
 *
 * @public
 */
export const RELEASE_COMMAND_ENV_VAR = 'RELEASE_COMMAND';
