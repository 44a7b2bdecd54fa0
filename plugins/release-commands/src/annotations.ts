/**
 * The image an entity's deploys ship, e.g. `registry.example.com/shop:1.4.2`:
 * the tab offers it when a run is started by hand.
 *
 * @public
 */
export const RELEASE_COMMANDS_IMAGE_ANNOTATION = 'release-commands/image';
