/**
 * Types, schemas, permissions, framework presets and formatting shared by
 * the release-commands plugin packages.
 *
 * @packageDocumentation
 */

export * from './constants';
export * from './types';
export * from './schemas';
export * from './permissions';
export * from './presets';
export * from './runs';
export * from './pageUrl';
export * from './history';
export * from './declarations';
export * from './ReleaseCommandsClient';
export * from './followRunLog';
export * from './formatting';
export * from './durations';
export * from './describeError';
