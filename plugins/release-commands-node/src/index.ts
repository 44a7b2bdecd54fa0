/**
 * Node.js library for the release-commands plugin: the extension points that
 * other backend modules use to plug into it, and a client for calling it.
 *
 * @packageDocumentation
 */

export { RELEASE_COMMANDS_PLUGIN_ID } from '@release-commands/backstage-plugin-release-commands-common';
export * from './executor';
export * from './createReleaseCommandsServiceClient';
