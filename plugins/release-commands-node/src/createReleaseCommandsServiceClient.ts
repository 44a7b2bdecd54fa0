import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
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
   * caller never sends an expired token. When it gives no principal (a task
   * that no user started, say), every request fails with a
   * `NotAllowedError`: the calling plugin's own rights never stand in for a
   * missing user. Without it, the client calls with the calling plugin's own
   * service credentials.
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
    if (!onBehalfOf) {
      return auth.getOwnServiceCredentials();
    }
    // The caller's own rights are usually wider than those of the users it
    // acts for: standing in for a missing user, they would let work that no
    // user started do what no user may.
    const initiator: BackstageCredentials | undefined = await onBehalfOf();
    if (!initiator || auth.isPrincipal(initiator, 'none')) {
      throw new NotAllowedError(
        "No user to act for: release commands are called only on behalf of the user who started this, never with the calling plugin's own credentials",
      );
    }
    return initiator;
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
