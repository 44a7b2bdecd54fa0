import {
  AuthService,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';

/**
 * A plugin's mock auth whose tokens on behalf of a user name the plugin as
 * actor, as Backstage's auth service does and the mock does not: the
 * release-commands plugin tells a template's run from a person's by it.
 */
export function pluginAuth(pluginId: string): AuthService {
  const auth = mockServices.auth({ pluginId });
  const issue = auth.getPluginRequestToken.bind(auth);
  auth.getPluginRequestToken = async options => {
    if (!auth.isPrincipal(options.onBehalfOf, 'user')) {
      return issue(options);
    }
    return {
      token: mockCredentials.user.token(
        options.onBehalfOf.principal.userEntityRef,
        { actor: { subject: `plugin:${pluginId}` } },
      ),
    };
  };
  return auth;
}

/** {@link pluginAuth} for every plugin of a test backend. */
export const pluginAuthFactory = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory: ({ plugin }) => pluginAuth(plugin.getId()),
});
