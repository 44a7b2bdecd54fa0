/**
 * Types, schemas and permissions shared by the release-commands plugin packages.
 *
 * @packageDocumentation
 */

export * from './constants';
