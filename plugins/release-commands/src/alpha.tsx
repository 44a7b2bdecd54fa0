import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';

/** The "Release commands" tab on every catalog entity. */
export const releaseCommandsEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'release-commands',
    title: 'Release commands',
    group: 'deployment',
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
  extensions: [releaseCommandsEntityContent],
});
