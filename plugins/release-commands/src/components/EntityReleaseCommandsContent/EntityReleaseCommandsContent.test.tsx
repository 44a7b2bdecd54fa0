import { Entity } from '@backstage/catalog-model';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  FakeReleaseCommandsApi,
  aRun,
} from '../../__testUtils__/FakeReleaseCommandsApi';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { EntityReleaseCommandsContent } from './EntityReleaseCommandsContent';

jest.setTimeout(30_000);

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'demo-shop',
    namespace: 'default',
    annotations: { 'release-commands/image': 'release-commands-demo/shop:1' },
  },
  spec: { type: 'service', owner: 'guests', lifecycle: 'production' },
};
const RUN_ID = 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee';

function renderTab(api: FakeReleaseCommandsApi, url = '/') {
  return renderInTestApp(
    <EntityProvider entity={entity}>
      <EntityReleaseCommandsContent />
    </EntityProvider>,
    {
      apis: [[releaseCommandsApiRef, api], mockApis.permission()],
      initialRouteEntries: [url],
    },
  );
}

describe('EntityReleaseCommandsContent', () => {
  it("shows the entity's commands and runs", async () => {
    const api = new FakeReleaseCommandsApi({ runs: [aRun({ id: RUN_ID })] });
    await renderTab(api);

    expect(await screen.findByText('Migrate database')).toBeInTheDocument();
    expect(await screen.findByText('Succeeded')).toBeInTheDocument();
    expect(api.getCommands).toHaveBeenCalledWith('component:default/demo-shop');
    expect(api.listRuns).toHaveBeenCalledWith('component:default/demo-shop', {
      limit: 10,
      cursor: undefined,
    });
  });

  it('offers the image from the entity annotation for a run', async () => {
    await renderTab(new FakeReleaseCommandsApi());
    await userEvent.click(
      await screen.findByRole('button', { name: 'Run release commands' }),
    );
    expect(screen.getByLabelText(/image/i)).toHaveValue(
      'release-commands-demo/shop:1',
    );
  });

  it('shows one run when the URL names it, with a way back', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: [aRun({ id: RUN_ID, status: 'failed', reason: 'It failed' })],
    });
    await renderTab(api, `/?run=${RUN_ID}`);

    expect(await screen.findByText('It failed')).toBeInTheDocument();
    expect(api.getRun).toHaveBeenCalledWith(RUN_ID);
    expect(api.getCommands).not.toHaveBeenCalled();

    await userEvent.click(
      screen.getByRole('link', { name: /All release commands and runs/ }),
    );
    expect(await screen.findByText('Migrate database')).toBeInTheDocument();
  });

  it('names the revision of the commands a run ran, linking to the history', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: [aRun({ id: RUN_ID, commandsRevision: 3 })],
    });
    await renderTab(api, `/?run=${RUN_ID}`);

    await userEvent.click(
      await screen.findByRole('link', { name: 'revision 3' }),
    );
    expect(
      await screen.findByText(/the history starts with the next change/),
    ).toBeInTheDocument();
    expect(api.listRevisions).toHaveBeenCalled();
  });

  it('opens a run from the table', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: [aRun({ id: RUN_ID, status: 'failed', reason: 'It failed' })],
    });
    await renderTab(api);
    await userEvent.click(await screen.findByRole('link', { name: /2026/ }));
    expect(await screen.findByText('It failed')).toBeInTheDocument();
    await waitFor(() => expect(api.getRun).toHaveBeenCalledWith(RUN_ID));
  });
});
