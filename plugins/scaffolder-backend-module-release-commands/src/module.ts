import { createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';

/**
 * Registers the release-commands template actions with the scaffolder.
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
      },
      async init({ scaffolderActions }) {
        scaffolderActions.addActions();
      },
    });
  },
});
