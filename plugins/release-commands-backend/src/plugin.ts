import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceRef } from '@backstage/backend-plugin-api/alpha';
import { notificationService } from '@backstage/plugin-notifications-node';
import { releaseCommandsPermissions } from '@release-commands/backstage-plugin-release-commands-common';
import {
  ReleaseCommandExecutor,
  releaseCommandsExecutorExtensionPoint,
} from '@release-commands/backstage-plugin-release-commands-node';
import { registerActions } from './actions/registerActions';
import { DatabaseReleaseCommandsStore } from './database/DatabaseReleaseCommandsStore';
import { DatabaseRunLogStore } from './database/DatabaseRunLogStore';
import { DatabaseRunsStore } from './database/DatabaseRunsStore';
import { checkDockerEngine } from './docker/checkDockerEngine';
import {
  createDockerClient,
  describeDockerHost,
} from './docker/createDockerClient';
import { RepositoryDeclarations } from './declarations/RepositoryDeclarations';
import { DockerExecutor } from './executor/DockerExecutor';
import { readRunRetention } from './runs/readRunRetention';
import { RunCleaner } from './runs/RunCleaner';
import { RunEvents } from './runs/RunEvents';
import { readNotificationSettings, RunNotifier } from './runs/RunNotifier';
import { RunOrchestrator } from './runs/RunOrchestrator';
import { ImagePolicy } from './runs/ImagePolicy';
import { readRunSettings } from './runs/RunSettings';
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
    let customExecutor: ReleaseCommandExecutor | undefined;
    env.registerExtensionPoint(releaseCommandsExecutorExtensionPoint, {
      setExecutor(executor) {
        if (customExecutor) {
          throw new Error(
            `An executor is already set (${customExecutor.description}); only one module may set it`,
          );
        }
        customExecutor = executor;
      },
    });

    env.registerInit({
      deps: {
        actionsRegistry: actionsRegistryServiceRef,
        auditor: coreServices.auditor,
        auth: coreServices.auth,
        config: coreServices.rootConfig,
        database: coreServices.database,
        discovery: coreServices.discovery,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        lifecycle: coreServices.lifecycle,
        logger: coreServices.logger,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        scheduler: coreServices.scheduler,
        urlReader: coreServices.urlReader,
        catalog: catalogServiceRef,
        instanceMetadata: coreServices.rootInstanceMetadata,
        notifications: notificationService,
      },
      async init(deps) {
        const { config, database, httpRouter, logger } = deps;
        deps.permissionsRegistry.addPermissions(releaseCommandsPermissions);

        const settings = readRunSettings(config);
        const appBaseUrl = config.getOptionalString('app.baseUrl') ?? '';
        const retentionMs = readRunRetention(config);
        const imagePolicy = ImagePolicy.fromConfig(config);
        const commandsStore = await DatabaseReleaseCommandsStore.create({
          database,
        });
        const runsStore = await DatabaseRunsStore.create({ database });
        const logStore = await DatabaseRunLogStore.create({ database });
        const events = new RunEvents();
        const executor = customExecutor ?? DockerExecutor.fromConfig(config);
        const notificationsInstalled = (
          await deps.instanceMetadata.getInstalledPlugins()
        ).some(plugin => plugin.pluginId === 'notifications');
        if (!notificationsInstalled) {
          logger.info(
            "Owners are not notified of failed runs: this backend has no notifications plugin (add '@backstage/plugin-notifications-backend')",
          );
        }
        const notifier = new RunNotifier({
          runsStore,
          notifications: notificationsInstalled
            ? deps.notifications
            : undefined,
          settings: readNotificationSettings(config),
          appBaseUrl,
          logger,
        });
        const orchestrator = new RunOrchestrator({
          runsStore,
          logStore,
          commandsStore,
          executor,
          logger,
          events,
          settings,
          onRunEnded: runId => void notifier.ended(runId),
        });

        httpRouter.use(
          await createRouter({
            store: commandsStore,
            catalog: deps.catalog,
            runs: {
              orchestrator,
              runsStore,
              logStore,
              events,
              retentionSeconds:
                retentionMs === null ? null : retentionMs / 1000,
              imagePolicy,
              declarations: new RepositoryDeclarations({
                urlReader: deps.urlReader,
                config,
              }),
            },
            httpAuth: deps.httpAuth,
            permissions: deps.permissions,
            auditor: deps.auditor,
            defaultTimeoutSeconds: settings.defaultTimeoutSeconds,
          }),
        );
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        registerActions({
          actionsRegistry: deps.actionsRegistry,
          auth: deps.auth,
          discovery: deps.discovery,
          appBaseUrl,
        });

        if (!customExecutor) {
          // The portal is useful without an engine (editing commands), so an
          // unreachable engine is reported once, not treated as fatal, and
          // start-up does not wait for an engine that may never answer.
          const dockerHost = describeDockerHost(config);
          void checkDockerEngine(createDockerClient(config)).then(engine => {
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
          });
        }

        if (retentionMs === null) {
          logger.info(
            'Every run is kept: releaseCommands.runs.retention is false',
          );
        } else {
          await new RunCleaner({
            runsStore,
            logStore,
            logger,
            auditor: deps.auditor,
            retentionMs,
          }).schedule(deps.scheduler);
        }

        await orchestrator.start();
        deps.lifecycle.addShutdownHook(() => orchestrator.stop());
        logger.info(
          `Running release commands with ${executor.description}, at most ${settings.maxConcurrentRuns} runs at once (instance ${orchestrator.instanceId})`,
        );
      },
    });
  },
});
