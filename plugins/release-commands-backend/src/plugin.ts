import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  DEFAULT_COMMAND_TIMEOUT_SECONDS,
  releaseCommandsPermissions,
} from '@internal/backstage-plugin-release-commands-common';
import { DatabaseReleaseCommandsStore } from './database/DatabaseReleaseCommandsStore';
import { checkDockerEngine } from './docker/checkDockerEngine';
import {
  createDockerClient,
  describeDockerHost,
} from './docker/createDockerClient';
import { createRouter } from './service/createRouter';

/**
 * The release-commands backend plugin: stores each entity's release commands
 * and runs them in throwaway containers when a deploy asks.
 *
 * @public
 */
export const releaseCommandsPlugin = createBackendPlugin({
  pluginId: 'release-commands',
  register(env) {
    env.registerInit({
      deps: {
        auditor: coreServices.auditor,
        config: coreServices.rootConfig,
        database: coreServices.database,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        logger: coreServices.logger,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
      },
      async init(deps) {
        const { config, database, httpRouter, logger } = deps;
        deps.permissionsRegistry.addPermissions(releaseCommandsPermissions);

        const store = await DatabaseReleaseCommandsStore.create({ database });
        httpRouter.use(
          await createRouter({
            store,
            httpAuth: deps.httpAuth,
            permissions: deps.permissions,
            auditor: deps.auditor,
            defaultTimeoutSeconds:
              config.getOptionalNumber(
                'releaseCommands.defaultTimeoutSeconds',
              ) ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
          }),
        );
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });

        // The portal is useful without an engine (editing commands), so an
        // unreachable engine is reported once, not treated as fatal.
        const dockerHost = describeDockerHost(config);
        const engine = await checkDockerEngine(createDockerClient(config));
        if (engine.reachable) {
          logger.info(
            `Docker engine ${engine.version} (API ${engine.apiVersion}) reachable at ${dockerHost}`,
          );
        } else {
          logger.warn(
            `No Docker engine is reachable at ${dockerHost} (${engine.error}). ` +
              'Editing release commands works, but every run will fail with "Docker engine unreachable" ' +
              'until an engine answers there; start Docker or set releaseCommands.docker.host.',
          );
        }
      },
    });
  },
});
