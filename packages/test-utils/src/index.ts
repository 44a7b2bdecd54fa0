/**
 * Test helpers shared by the release-commands packages.
 *
 * @packageDocumentation
 */
export {
  createTestDatabases,
  type TestDatabaseSet,
} from './createTestDatabases';
export { expectedTestEngineKind, requireDocker } from './requireDocker';
export type { TestEngineKind } from './requireDocker';
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
export {
  createTestCatalog,
  type RegisterComponentsOptions,
  type TestCatalog,
} from './testCatalog';
export { restartDockerEngine } from './restartDockerEngine';
export { findRepositoryRoot } from './findRepositoryRoot';
export { shellEnvironment } from './shellEnvironment';
export { freePort } from './freePort';
export {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from './startThrowawayPostgres';
export {
  startProcessGroup,
  type ProcessGroup,
  type ProcessGroupOptions,
} from './startProcessGroup';
export { launchChromium, CHROMIUM_PATH } from './launchChromium';
export { openSignedIn, signInAsGuest } from './signInAsGuest';
