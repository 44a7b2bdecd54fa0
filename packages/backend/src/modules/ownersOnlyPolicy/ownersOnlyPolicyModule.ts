import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import { OwnersOnlyPolicy } from './OwnersOnlyPolicy';

/**
 * The permission policy "release commands for the entity's owners only"
 * (see {@link OwnersOnlyPolicy}). Not in the demo portal's features, which
 * allow everything; a backend adds it instead of the allow-all policy
 * module, since the permission backend takes one policy.
 */
export const ownersOnlyPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'owners-only-policy',
  register(env) {
    env.registerInit({
      deps: {
        policy: policyExtensionPoint,
        userInfo: coreServices.userInfo,
      },
      async init({ policy, userInfo }) {
        policy.setPolicy(new OwnersOnlyPolicy(userInfo));
      },
    });
  },
});
