/**
 * Test helpers shared by the release-commands packages.
 *
 * @packageDocumentation
 */
export {
  createTestDatabases,
  type TestDatabaseSet,
} from './createTestDatabases';
export { requireDocker } from './requireDocker';
export {
  buildBusyboxImage,
  BUSYBOX_TEST_IMAGE,
  type BuildBusyboxImageOptions,
} from './buildBusyboxImage';
export { readServerSentEvents } from './readServerSentEvents';
export {
  startBackendProcess,
  type BackendProcess,
  type BackendProcessOptions,
} from './startBackendProcess';
export { restartDockerEngine } from './restartDockerEngine';
