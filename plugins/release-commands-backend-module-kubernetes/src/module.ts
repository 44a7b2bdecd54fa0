import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { releaseCommandsExecutorExtensionPoint } from '@release-commands/backstage-plugin-release-commands-node';
import { KubernetesExecutor } from './KubernetesExecutor';

/**
 * Runs release commands as Kubernetes Jobs instead of Docker containers,
 * configured by `releaseCommands.kubernetes`.
 *
 * @public
 */
export const releaseCommandsModuleKubernetes = createBackendModule({
  pluginId: 'release-commands',
  moduleId: 'kubernetes',
  register({ registerInit }) {
    registerInit({
      deps: {
        executor: releaseCommandsExecutorExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ executor, config, logger }) {
        const kubernetes = KubernetesExecutor.fromConfig(config);
        executor.setExecutor(kubernetes);
        logger.info(`Release commands run on ${kubernetes.description}`);
      },
    });
  },
});
