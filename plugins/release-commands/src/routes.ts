import { createRouteRef } from '@backstage/core-plugin-api';

export const legacyRootRouteRef = createRouteRef({
  id: 'release-commands',
});
