import { EntityProvider } from '@backstage/plugin-catalog-react';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { FakeReleaseCommandsApi } from './__testUtils__/FakeReleaseCommandsApi';
import { releaseCommandsApiRef } from './api/ReleaseCommandsApi';
import { EntityReleaseCommandsContent } from './plugin';

jest.setTimeout(30_000);

describe('EntityReleaseCommandsContent (legacy frontend system)', () => {
  it('renders the tab in an app on the old system', async () => {
    await renderInTestApp(
      <TestApiProvider
        apis={[
          [releaseCommandsApiRef, new FakeReleaseCommandsApi()],
          [
            permissionApiRef,
            { authorize: async () => ({ result: AuthorizeResult.ALLOW }) },
          ],
        ]}
      >
        <EntityProvider
          entity={{
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'Component',
            metadata: { name: 'legacy-shop', namespace: 'default' },
            spec: { type: 'service', owner: 'guests', lifecycle: 'production' },
          }}
        >
          {/* As in an EntityLayout.Route: the app gives the tab its path. */}
          <Routes>
            <Route path="/*" element={<EntityReleaseCommandsContent />} />
          </Routes>
        </EntityProvider>
      </TestApiProvider>,
    );

    expect(await screen.findByText('Migrate database')).toBeInTheDocument();
    expect(await screen.findByText('Run release commands')).toBeInTheDocument();
  });
});
