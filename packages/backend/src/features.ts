import appBackend from '@backstage/plugin-app-backend';
import authBackend from '@backstage/plugin-auth-backend';
import authGuestProvider from '@backstage/plugin-auth-backend-module-guest-provider';
import catalogBackend from '@backstage/plugin-catalog-backend';
import catalogLogs from '@backstage/plugin-catalog-backend-module-logs';
import catalogScaffolderEntityModel from '@backstage/plugin-catalog-backend-module-scaffolder-entity-model';
import mcpActionsBackend from '@backstage/plugin-mcp-actions-backend';
import notificationsBackend from '@backstage/plugin-notifications-backend';
import permissionBackend from '@backstage/plugin-permission-backend';
import permissionAllowAllPolicy from '@backstage/plugin-permission-backend-module-allow-all-policy';
import proxyBackend from '@backstage/plugin-proxy-backend';
import scaffolderBackend from '@backstage/plugin-scaffolder-backend';
import signalsBackend from '@backstage/plugin-signals-backend';
import userSettingsBackend from '@backstage/plugin-user-settings-backend';
import releaseCommandsBackend from '@release-commands/backstage-plugin-release-commands-backend';
import scaffolderReleaseCommands from '@release-commands/backstage-plugin-scaffolder-backend-module-release-commands';

/**
 * Every backend feature of the portal. Kept apart from index.ts so a test can
 * start exactly what the portal starts.
 */
export const features = [
  appBackend,
  proxyBackend,
  authBackend,
  authGuestProvider,
  catalogBackend,
  catalogScaffolderEntityModel,
  catalogLogs,
  scaffolderBackend,
  scaffolderReleaseCommands,
  permissionBackend,
  permissionAllowAllPolicy,
  userSettingsBackend,
  signalsBackend,
  notificationsBackend,
  releaseCommandsBackend,
  mcpActionsBackend,
];
