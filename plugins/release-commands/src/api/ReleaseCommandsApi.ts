import {
  createApiFactory,
  createApiRef,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import {
  RELEASE_COMMANDS_PLUGIN_ID,
  ReleaseCommandsClient,
} from '@release-commands/backstage-plugin-release-commands-common';

/**
 * What the tab needs from the release-commands backend: the public methods of
 * the shared client, so tests can hand in a fake.
 *
 * @public
 */
export type ReleaseCommandsApi = {
  [K in keyof ReleaseCommandsClient]: ReleaseCommandsClient[K];
};

/**
 * The release-commands client of the app (`plugin.release-commands.client`).
 *
 * @public
 */
export const releaseCommandsApiRef = createApiRef<ReleaseCommandsApi>().with({
  id: 'plugin.release-commands.client',
  pluginId: RELEASE_COMMANDS_PLUGIN_ID,
});

/**
 * The client against this app's backend, through the app's fetch so the
 * user's Backstage token goes along (also on the streamed log).
 *
 * @public
 */
export const releaseCommandsApiFactory = createApiFactory({
  api: releaseCommandsApiRef,
  deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
  factory: ({ discoveryApi, fetchApi }) =>
    new ReleaseCommandsClient({
      baseUrl: () => discoveryApi.getBaseUrl(RELEASE_COMMANDS_PLUGIN_ID),
      fetch: fetchApi.fetch,
    }),
});
