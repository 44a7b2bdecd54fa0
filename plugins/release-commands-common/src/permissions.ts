import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';
import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Read an entity's release commands. A catalog-entity resource permission, so
 * a policy can decide per entity (for example: owners only).
 *
 * @public
 */
export const releaseCommandsReadPermission = createPermission({
  name: 'release-commands.commands.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Add, edit, reorder or delete an entity's release commands.
 *
 * @public
 */
export const releaseCommandsUpdatePermission = createPermission({
  name: 'release-commands.commands.update',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Start a run of an entity's release commands: what a deploy does.
 *
 * @public
 */
export const releaseCommandsRunCreatePermission = createPermission({
  name: 'release-commands.runs.create',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Cancel anyone's queued or running run of an entity. Apart from starting
 * runs, so that pipelines holding `runs.create` widely cannot stop others'
 * deploys; whoever started a run may cancel it with `runs.create` alone.
 * No action attribute (like the catalog's refresh), so that a token
 * restricted by action, say to `update`, does not get it along.
 *
 * @public
 */
export const releaseCommandsRunCancelPermission = createPermission({
  name: 'release-commands.runs.cancel',
  attributes: {},
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Read an entity's runs and their logs.
 *
 * @public
 */
export const releaseCommandsRunReadPermission = createPermission({
  name: 'release-commands.runs.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Every permission of the plugin, for registration and policies.
 *
 * @public
 */
export const releaseCommandsPermissions = [
  releaseCommandsReadPermission,
  releaseCommandsUpdatePermission,
  releaseCommandsRunCreatePermission,
  releaseCommandsRunCancelPermission,
  releaseCommandsRunReadPermission,
];
