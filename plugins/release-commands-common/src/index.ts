/**
 * Types, schemas, permissions and framework presets shared by the
 * release-commands plugin packages.
 *
 * @packageDocumentation
 */

export * from './constants';
export * from './types';
export * from './schemas';
export * from './permissions';
export * from './presets';
export * from './runs';
export * from './ReleaseCommandsClient';
export * from './followRunLog';
