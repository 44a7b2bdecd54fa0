/**
 * A module for the release-commands backend plugin that runs each release
 * command as a Kubernetes Job instead of a Docker container.
 *
 * @packageDocumentation
 */

export { releaseCommandsModuleKubernetes as default } from './module';
