/***/
/**
 * The release-commands module for @backstage/plugin-scaffolder-backend.
 *
 * @packageDocumentation
 */

export { scaffolderModuleReleaseCommands as default } from './module';
