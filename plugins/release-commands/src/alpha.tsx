/**
 * The release-commands frontend plugin for the new frontend system.
 *
 * @packageDocumentation
 */
import {
  ApiBlueprint,
  createFrontendPlugin,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { releaseCommandsApiFactory } from './api/ReleaseCommandsApi';

const releaseCommandsApi = ApiBlueprint.make({
  params: defineParams => defineParams(releaseCommandsApiFactory),
});

/**
 * The "Release commands" tab. Components are what a deploy ships, so the tab
 * shows on them only; an app widens or narrows that with the extension's
 * `filter` config, which replaces this default. It sits in the entity page's
 * `settings` group where the app defines one, and is a tab of its own
 * otherwise.
 */
const releaseCommandsEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'release-commands',
    title: 'Release commands',
    group: 'settings',
    filter: { kind: 'component' },
    loader: () =>
      import('./components/EntityReleaseCommandsContent').then(m => (
        <m.EntityReleaseCommandsContent />
      )),
  },
});

/**
 * The release-commands plugin for the new frontend system: the
 * `entity-content:release-commands` tab and the `api:release-commands`
 * client.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'release-commands',
  info: { packageJson: () => import('../package.json') },
  extensions: [releaseCommandsApi, releaseCommandsEntityContent],
});
