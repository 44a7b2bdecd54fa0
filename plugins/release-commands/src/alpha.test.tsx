import {
  ApiBlueprint,
  coreExtensionData,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import releaseCommandsPlugin, {
  releaseCommandsApi,
  releaseCommandsEntityContent,
} from './alpha';
import { releaseCommandsApiRef } from './api/ReleaseCommandsApi';

describe('release-commands plugin (new frontend system)', () => {
  it('adds the Release commands tab to entity pages, in the settings group', () => {
    const tester = createExtensionTester(releaseCommandsEntityContent);
    expect(tester.get(coreExtensionData.routePath)).toBe('release-commands');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe(
      'Release commands',
    );
    expect(tester.get(EntityContentBlueprint.dataRefs.group)).toBe('settings');
  });

  it("provides the client over the app's discovery and fetch", () => {
    const factory = createExtensionTester(releaseCommandsApi).get(
      ApiBlueprint.dataRefs.factory,
    );
    expect(factory.api).toBe(releaseCommandsApiRef);
    expect(Object.values(factory.deps)).toEqual([discoveryApiRef, fetchApiRef]);
  });

  it('registers under the shared plugin id', () => {
    expect(releaseCommandsPlugin.pluginId).toBe('release-commands');
  });
});
