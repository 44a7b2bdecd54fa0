import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createAddReleaseCommandsAction } from './actions/createAddReleaseCommandsAction';
import { createRunReleaseCommandsAction } from './actions/createRunReleaseCommandsAction';

/**
 * Registers the release-commands template actions with the scaffolder:
 * `release-commands:add` and `release-commands:run`.
 *
 * @public
 */
export const scaffolderModuleReleaseCommands = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'release-commands',
  register({ registerInit }) {
    registerInit({
      deps: {
        scaffolderActions: scaffolderActionsExtensionPoint,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
        config: coreServices.rootConfig,
      },
      async init({ scaffolderActions, auth, discovery, config }) {
        scaffolderActions.addActions(
          createAddReleaseCommandsAction({ auth, discovery }),
          createRunReleaseCommandsAction({ auth, discovery, config }),
        );
      },
    });
  },
});
