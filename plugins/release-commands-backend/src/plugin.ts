import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { migrateDatabase } from './database/migrateDatabase';
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
        config: coreServices.rootConfig,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        logger: coreServices.logger,
      },
      async init({ config, database, httpRouter, logger }) {
        const knex = await database.getClient();
        if (!database.migrations?.skip) {
          await migrateDatabase(knex);
        }

        httpRouter.use(await createRouter());
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
