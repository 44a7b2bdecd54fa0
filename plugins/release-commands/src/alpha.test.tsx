import { Entity } from '@backstage/catalog-model';
import {
  ApiBlueprint,
  coreExtensionData,
  discoveryApiRef,
  ExtensionDefinition,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  mockApis,
  renderTestApp,
} from '@backstage/frontend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { FakeReleaseCommandsApi } from './__testUtils__/FakeReleaseCommandsApi';
import releaseCommandsPlugin from './alpha';
import { releaseCommandsApiRef } from './api/ReleaseCommandsApi';

jest.setTimeout(30_000);

function anEntity(kind: string, name: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name, namespace: 'default' },
    spec: {},
  };
}

const component = anEntity('Component', 'demo-shop');
const resource = anEntity('Resource', 'shop-db');
const user = anEntity('User', 'guest');
const group = anEntity('Group', 'guests');

const tab = releaseCommandsPlugin.getExtension(
  'entity-content:release-commands',
);

/** Which entities the tab is on, with the given extension config. */
function entityFilter(config?: (typeof tab)['T']['configInput']) {
  const applies = createExtensionTester(tab, { config }).get(
    EntityContentBlueprint.dataRefs.filterFunction,
  );
  if (!applies) {
    throw new Error('The tab has no entity filter');
  }
  return applies;
}

describe('the Release commands tab extension', () => {
  it('is the release-commands path, titled, in the settings group', () => {
    const tester = createExtensionTester(tab);
    expect(tester.get(coreExtensionData.routePath)).toBe('release-commands');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe(
      'Release commands',
    );
    expect(tester.get(EntityContentBlueprint.dataRefs.group)).toBe('settings');
  });

  it('applies to components only by default', () => {
    const applies = entityFilter();
    expect(applies(component)).toBe(true);
    expect(applies(user)).toBe(false);
    expect(applies(group)).toBe(false);
    expect(applies(resource)).toBe(false);
  });

  it("applies where the app's filter config says instead", () => {
    const applies = entityFilter({
      filter: { kind: { $in: ['component', 'resource'] } },
    });
    expect(applies(component)).toBe(true);
    expect(applies(resource)).toBe(true);
    expect(applies(user)).toBe(false);

    const onResourcesOnly = entityFilter({ filter: { kind: 'resource' } });
    expect(onResourcesOnly(resource)).toBe(true);
    expect(onResourcesOnly(component)).toBe(false);
  });
});

describe('the release-commands plugin', () => {
  it("provides the client over the app's discovery and fetch", () => {
    const factory = createExtensionTester(
      releaseCommandsPlugin.getExtension('api:release-commands'),
    ).get(ApiBlueprint.dataRefs.factory);
    expect(factory.api).toBe(releaseCommandsApiRef);
    expect(Object.values(factory.deps)).toEqual([discoveryApiRef, fetchApiRef]);
  });

  it('registers under the shared plugin id', () => {
    expect(releaseCommandsPlugin.pluginId).toBe('release-commands');
  });
});

/** Another plugin's tab in the settings group, so the group has two. */
const anotherSettingsTab = EntityContentBlueprint.make({
  name: 'notifications-settings',
  params: {
    path: 'notifications',
    title: 'Notifications',
    group: 'settings',
    loader: async () => <div>Notification settings</div>,
  },
});

type AppConfig = NonNullable<
  NonNullable<Parameters<typeof renderTestApp>[0]>['config']
>;

/** An app whose entity page has an Overview and a Settings group. */
const withSettingsGroup: AppConfig = {
  extensions: [
    {
      'page:catalog/entity': {
        config: {
          groups: [
            { overview: { title: 'Overview' } },
            { settings: { title: 'Settings' } },
          ],
        },
      },
    },
  ],
};

/**
 * Opens the catalog's own entity page, with this plugin, on one entity, and
 * returns the page's tab bar once the entity has loaded.
 */
async function openEntityPage(
  entity: Entity,
  app: AppConfig = {},
  extensions: ExtensionDefinition[] = [],
) {
  renderTestApp({
    features: [catalogPlugin, releaseCommandsPlugin],
    extensions,
    apis: [
      catalogApiMock({ entities: [component, resource, user, group] }),
      [releaseCommandsApiRef, new FakeReleaseCommandsApi()],
      mockApis.permission(),
    ],
    config: { app },
    initialRouteEntries: [
      `/catalog/default/${entity.kind.toLocaleLowerCase('en-US')}/${
        entity.metadata.name
      }`,
    ],
  });
  const tabs = await screen.findByRole(
    'navigation',
    { name: 'Content navigation' },
    { timeout: 10_000 },
  );
  expect(within(tabs).getByRole('link', { name: 'Overview' })).toBeVisible();
  return tabs;
}

describe('the Release commands tab on the catalog entity page', () => {
  it('is on a component', async () => {
    const tabs = await openEntityPage(component);
    expect(
      within(tabs).getByRole('link', { name: 'Release commands' }),
    ).toHaveAttribute(
      'href',
      '/catalog/default/component/demo-shop/release-commands',
    );
  });

  it.each([user, group, resource])('is not on a $kind', async entity => {
    const tabs = await openEntityPage(entity);
    expect(
      within(tabs).queryByRole('link', { name: 'Release commands' }),
    ).not.toBeInTheDocument();
  });

  it("is where the app's filter config puts it instead", async () => {
    const app = {
      extensions: [
        {
          'entity-content:release-commands': {
            config: { filter: { kind: { $in: ['component', 'resource'] } } },
          },
        },
      ],
    };
    const onResource = await openEntityPage(resource, app);
    expect(
      within(onResource).getByRole('link', { name: 'Release commands' }),
    ).toBeVisible();
  });

  it('shows as itself while it is alone in the Settings group', async () => {
    const tabs = await openEntityPage(component, withSettingsGroup);
    expect(
      within(tabs).getByRole('link', { name: 'Release commands' }),
    ).toBeVisible();
    expect(
      within(tabs).queryByRole('button', { name: 'Settings' }),
    ).not.toBeInTheDocument();
  });

  it('is a tab of its own in an app without a settings group', async () => {
    // Backstage's default groups (Overview, Documentation, Development,
    // Deployment, Operation, Observability) have no settings group.
    const tabs = await openEntityPage(component, {}, [anotherSettingsTab]);
    expect(
      within(tabs).getByRole('link', { name: 'Release commands' }),
    ).toBeVisible();
    expect(
      within(tabs).queryByRole('button', { name: 'Settings' }),
    ).not.toBeInTheDocument();
  });

  it("is in the app's Settings group where the app defines one", async () => {
    const tabs = await openEntityPage(component, withSettingsGroup, [
      anotherSettingsTab,
    ]);
    expect(
      within(tabs).queryByRole('link', { name: 'Release commands' }),
    ).not.toBeInTheDocument();

    await userEvent.click(
      within(tabs).getByRole('button', { name: 'Settings' }),
    );
    expect(
      await screen.findByRole(
        'menuitemradio',
        { name: 'Release commands' },
        { timeout: 10_000 },
      ),
    ).toBeVisible();
    expect(
      screen.getByRole('menuitemradio', { name: 'Notifications' }),
    ).toBeVisible();
  });
});
