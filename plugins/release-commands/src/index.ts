/**
 * The release-commands frontend plugin (legacy frontend system). Apps on the
 * new frontend system use the default export of `/alpha`.
 *
 * @packageDocumentation
 */
export { releaseCommandsPlugin, EntityReleaseCommandsContent } from './plugin';
export {
  releaseCommandsApiRef,
  releaseCommandsApiFactory,
  type ReleaseCommandsApi,
} from './api/ReleaseCommandsApi';
export { RELEASE_COMMANDS_IMAGE_ANNOTATION } from './annotations';
