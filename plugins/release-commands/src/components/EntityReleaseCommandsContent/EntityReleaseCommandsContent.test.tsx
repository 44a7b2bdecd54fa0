import { EntityProvider } from '@backstage/plugin-catalog-react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen } from '@testing-library/react';
import { EntityReleaseCommandsContent } from './EntityReleaseCommandsContent';

describe('EntityReleaseCommandsContent', () => {
  it('explains release commands for the entity it is shown on', async () => {
    await renderInTestApp(
      <EntityProvider
        entity={{
          apiVersion: 'backstage.io/v1alpha1',
          kind: 'Component',
          metadata: { name: 'demo-shop', namespace: 'default' },
          spec: { type: 'service', owner: 'guests', lifecycle: 'production' },
        }}
      >
        <EntityReleaseCommandsContent />
      </EntityProvider>,
    );
    expect(screen.getByText('Release commands')).toBeInTheDocument();
    expect(screen.getByText('component:default/demo-shop')).toBeInTheDocument();
    expect(screen.getByText(/belongs in the Dockerfile/)).toBeInTheDocument();
  });
});
