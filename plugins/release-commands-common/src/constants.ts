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

/**
 * An entity annotation that narrows the images its runs may use, within
 * what the config allows: sources separated by commas or white space, each
 * `ghcr.io/acme/` (the repositories under a path; `ghcr.io/` the whole
 * registry), `ghcr.io/acme/shop` (one repository) or
 * `ghcr.io/acme/shop:1.4.2` (one image).
 *
 * @public
 */
export const RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION =
  'release-commands/allowed-images';
