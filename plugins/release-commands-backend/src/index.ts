/**
 * The release-commands backend plugin: stores each entity's ordered release
 * commands and runs them, one throwaway container per command, on the image
 * a deploy is about to ship.
 *
 * @packageDocumentation
 */
export { releaseCommandsPlugin as default } from './plugin';
