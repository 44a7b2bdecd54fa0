/**
 * The release-commands module for `@backstage/plugin-scaffolder-backend`:
 * template actions that preset an entity's release commands and run them.
 *
 * @packageDocumentation
 */

export { scaffolderModuleReleaseCommands as default } from './module';
export { createAddReleaseCommandsAction } from './actions/createAddReleaseCommandsAction';
export { createRunReleaseCommandsAction } from './actions/createRunReleaseCommandsAction';
