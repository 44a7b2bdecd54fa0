import {
  createPlugin,
  createRoutableExtension,
} from '@backstage/core-plugin-api';
import { releaseCommandsApiFactory } from './api/ReleaseCommandsApi';
import { legacyRootRouteRef } from './routes';

/**
 * The release-commands plugin for apps on the legacy frontend system.
 *
 * @public
 */
export const releaseCommandsPlugin = createPlugin({
  id: 'release-commands',
  apis: [releaseCommandsApiFactory],
  routes: {
    root: legacyRootRouteRef,
  },
});

/**
 * The "Release commands" entity tab for `EntityLayout.Route` in apps on the
 * legacy frontend system.
 *
 * @public
 */
export const EntityReleaseCommandsContent: () => JSX.Element =
  releaseCommandsPlugin.provide(
    createRoutableExtension({
      name: 'EntityReleaseCommandsContent',
      component: () =>
        import('./components/EntityReleaseCommandsContent').then(
          m => m.EntityReleaseCommandsContent,
        ),
      mountPoint: legacyRootRouteRef,
    }),
  );
