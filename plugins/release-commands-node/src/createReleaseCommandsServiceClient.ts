import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import {
  RELEASE_COMMANDS_PLUGIN_ID,
  ReleaseCommandsClient,
} from '@release-commands/backstage-plugin-release-commands-common';

/**
 * What {@link createReleaseCommandsServiceClient} needs: the backend's
 * discovery and auth services, and optionally whose credentials to call with.
 *
 * @public
 */
export type ReleaseCommandsServiceClientOptions = {
  discovery: DiscoveryService;
  auth: AuthService;
  /**
   * On whose behalf to call, asked before every request so a long-running
   * caller never sends an expired token. Without it, or when it gives no
   * principal, the calling plugin's own service credentials are used.
   */
  onBehalfOf?: () => Promise<BackstageCredentials>;
};

/**
 * The typed release-commands client for other backend plugins and modules:
 * it finds the plugin through discovery and authenticates each request with
 * a plugin-to-plugin token, so the permission checks see the original user.
 *
 * @public
 */
export function createReleaseCommandsServiceClient(
  options: ReleaseCommandsServiceClientOptions,
): ReleaseCommandsClient {
  const { discovery, auth, onBehalfOf } = options;

  async function credentials(): Promise<BackstageCredentials> {
    const initiator = onBehalfOf ? await onBehalfOf() : undefined;
    if (initiator && !auth.isPrincipal(initiator, 'none')) {
      return initiator;
    }
    return auth.getOwnServiceCredentials();
  }

  return new ReleaseCommandsClient({
    baseUrl: () => discovery.getBaseUrl(RELEASE_COMMANDS_PLUGIN_ID),
    fetch: async (input, init) => {
      const { token } = await auth.getPluginRequestToken({
        onBehalfOf: await credentials(),
        targetPluginId: RELEASE_COMMANDS_PLUGIN_ID,
      });
      const headers = new Headers(init?.headers);
      headers.set('Authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    },
  });
}
