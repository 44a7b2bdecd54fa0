import {
  ApiBlueprint,
  createFrontendPlugin,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { releaseCommandsApiFactory } from './api/ReleaseCommandsApi';

/** The client of the release-commands backend. */
export const releaseCommandsApi = ApiBlueprint.make({
  params: defineParams => defineParams(releaseCommandsApiFactory),
});

/**
 * The "Release commands" tab on every catalog entity. It sits in the
 * entity's `settings` group where the app defines one (see the app's
 * `page:catalog/entity` config), and is a tab of its own otherwise.
 */
export const releaseCommandsEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'release-commands',
    title: 'Release commands',
    group: 'settings',
    loader: () =>
      import('./components/EntityReleaseCommandsContent').then(m => (
        <m.EntityReleaseCommandsContent />
      )),
  },
});

/**
 * The release-commands plugin for the new frontend system.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'release-commands',
  info: { packageJson: () => import('../package.json') },
  extensions: [releaseCommandsApi, releaseCommandsEntityContent],
});
