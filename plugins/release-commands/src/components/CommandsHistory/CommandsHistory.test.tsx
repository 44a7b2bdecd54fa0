import { Entity } from '@backstage/catalog-model';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  ENTITY_REF,
  FakeReleaseCommandsApi,
} from '../../__testUtils__/FakeReleaseCommandsApi';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { EntityReleaseCommandsContent } from '../EntityReleaseCommandsContent';
import { HISTORY_PAGE_SIZE } from './CommandsHistory';

jest.setTimeout(30_000);

const MIGRATE = '11111111-1111-4111-8111-111111111111';
const FIX_TREE = '33333333-3333-4333-8333-333333333333';

/**
 * The tab of an entity of the test's own: permission decisions are cached
 * per resource across renders, and the tests decide differently.
 */
function renderTab(
  name: string,
  api: FakeReleaseCommandsApi,
  options: {
    url?: string;
    permission?: ReturnType<typeof mockApis.permission>;
  } = {},
) {
  const entity: Entity = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default' },
    spec: { type: 'service', owner: 'guests', lifecycle: 'production' },
  };
  return renderInTestApp(
    <EntityProvider entity={entity}>
      <EntityReleaseCommandsContent />
    </EntityProvider>,
    {
      apis: [
        [releaseCommandsApiRef, api],
        options.permission ?? mockApis.permission(),
      ],
      initialRouteEntries: [options.url ?? '/?history'],
    },
  );
}

/** The history's row of one revision. */
async function revisionRow(revision: number) {
  const label = new RegExp(`^${revision}( \\(current\\))?$`);
  await screen.findByRole('table', { name: /Revisions/ });
  const row = screen
    .getAllByRole('row')
    .find(r =>
      label.test(within(r).queryAllByRole('cell')[1]?.textContent ?? ''),
    );
  if (!row) throw new Error(`No row for revision ${revision}`);
  return within(row);
}

/** Adds a command to the end of the list, as a save does. */
async function addCommand(api: FakeReleaseCommandsApi, label: string) {
  await api.replaceCommands(ENTITY_REF, {
    revision: api.list.revision,
    commands: [
      ...api.list.commands.map(c => ({
        id: c.id,
        label: c.label,
        command: c.command,
        enabled: c.enabled,
        timeoutSeconds: c.timeoutSeconds,
      })),
      { label, command: './manage.sh clear-cache' },
    ],
  });
}

describe('CommandsHistory', () => {
  it('lists each write newest first, with who made it and what it changed', async () => {
    const api = new FakeReleaseCommandsApi();
    await api.deleteCommand(ENTITY_REF, FIX_TREE);
    const [migrate, check] = api.list.commands;
    api.changeBehindTheUsersBack({
      commands: [{ ...check, command: './manage.sh check --deploy' }, migrate],
    });
    await renderTab('history-lists', api);

    const newest = await revisionRow(5);
    expect(newest.getByText('5 (current)')).toBeInTheDocument();
    expect(newest.getByText('user:default/someone-else')).toBeInTheDocument();
    expect(newest.getByText('Saved the list')).toBeInTheDocument();
    expect(
      newest.getByText('changed Security checks; reordered'),
    ).toBeInTheDocument();

    const older = await revisionRow(4);
    expect(older.getByText('user:default/guest')).toBeInTheDocument();
    expect(older.getByText('Removed a command')).toBeInTheDocument();
    expect(older.getByText('removed Fix tree')).toBeInTheDocument();

    await userEvent.click(
      older.getByRole('button', { name: 'Commands of revision 4' }),
    );
    const commands = within(
      screen.getByRole('list', { name: 'The commands of revision 4' }),
    ).getAllByRole('listitem');
    expect(commands.map(c => c.textContent)).toEqual([
      'Migrate database: ./manage.sh migrate',
      'Security checks: ./manage.sh check-security',
    ]);
    expect(api.listRevisions).toHaveBeenCalledWith(
      'component:default/history-lists',
      { limit: HISTORY_PAGE_SIZE },
    );
  });

  it('opens from the commands card and leads back', async () => {
    await renderTab('history-opens', new FakeReleaseCommandsApi(), {
      url: '/',
    });

    await userEvent.click(await screen.findByRole('link', { name: 'History' }));
    expect(
      await screen.findByText(/the history starts with the next change/),
    ).toBeInTheDocument();

    await userEvent.click(
      screen.getByRole('link', { name: /All release commands and runs/ }),
    );
    expect(await screen.findByText('Migrate database')).toBeInTheDocument();
  });

  it('restores an older revision after asking', async () => {
    const api = new FakeReleaseCommandsApi();
    await api.deleteCommand(ENTITY_REF, FIX_TREE);
    await addCommand(api, 'Clear cache');
    await renderTab('history-restores', api);

    expect(
      (await revisionRow(5)).queryByRole('button', { name: /Restore/ }),
    ).toBeNull();
    await userEvent.click(
      (
        await revisionRow(4)
      ).getByRole('button', { name: 'Restore revision 4' }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: 'Restore revision 4?',
    });
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Restore' }),
    );

    expect(await screen.findByText('Restored revision 4')).toBeInTheDocument();
    expect(
      (await revisionRow(6)).getByText('removed Clear cache'),
    ).toBeInTheDocument();
    expect(api.restoreRevision).toHaveBeenCalledWith(
      'component:default/history-restores',
      4,
      { revision: 5 },
    );

    await userEvent.click(
      screen.getByRole('link', { name: /All release commands and runs/ }),
    );
    expect(await screen.findByText('Security checks')).toBeInTheDocument();
    expect(screen.queryByText('Clear cache')).toBeNull();
  });

  it('says why when someone changed the commands meanwhile', async () => {
    const api = new FakeReleaseCommandsApi();
    await api.deleteCommand(ENTITY_REF, FIX_TREE);
    await api.deleteCommand(ENTITY_REF, MIGRATE);
    await renderTab('history-conflicts', api);
    await revisionRow(5);
    api.changeBehindTheUsersBack({ defaultTimeoutSeconds: 60 });

    await userEvent.click(
      (
        await revisionRow(4)
      ).getByRole('button', { name: 'Restore revision 4' }),
    );
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Restore',
      }),
    );

    expect(
      await screen.findByText(
        'Could not restore revision 4: The commands are at revision 6, not 5: reload and try again',
      ),
    ).toBeInTheDocument();
    // The history reloads, so the next try names the newest revision.
    expect(await revisionRow(6)).toBeDefined();
    expect(api.list.commands.map(c => c.label)).toEqual(['Security checks']);
  });

  it('offers no restore to a reader who may not update the commands', async () => {
    const api = new FakeReleaseCommandsApi();
    await api.deleteCommand(ENTITY_REF, FIX_TREE);
    await api.deleteCommand(ENTITY_REF, MIGRATE);
    const asked: string[] = [];
    await renderTab('history-reader', api, {
      permission: mockApis.permission({
        authorize: ({ permission }) => {
          asked.push(permission.name);
          return permission.name === 'release-commands.commands.update'
            ? AuthorizeResult.DENY
            : AuthorizeResult.ALLOW;
        },
      }),
    });

    await revisionRow(4);
    // Said once the decision is in, so the button's absence is the decision's.
    await screen.findByText(
      /Restoring one needs release-commands\.commands\.update/,
    );
    expect(asked).toContain('release-commands.commands.update');
    expect(screen.queryByRole('button', { name: /Restore/ })).toBeNull();
  });

  it('shows older revisions a page at a time', async () => {
    const api = new FakeReleaseCommandsApi();
    for (let i = 1; i <= HISTORY_PAGE_SIZE + 5; i++) {
      await addCommand(api, `Step ${i}`);
    }
    await renderTab('history-pages', api);

    await revisionRow(4 + HISTORY_PAGE_SIZE + 4);
    await expect(revisionRow(8)).rejects.toThrow('No row for revision 8');

    await userEvent.click(screen.getByRole('button', { name: 'Show older' }));

    expect(
      (await revisionRow(4)).getByText('added Step 1'),
    ).toBeInTheDocument();
    expect(screen.getAllByRole('row')).toHaveLength(1 + HISTORY_PAGE_SIZE + 5);
    expect(screen.queryByRole('button', { name: 'Show older' })).toBeNull();
    expect(api.listRevisions).toHaveBeenLastCalledWith(
      'component:default/history-pages',
      { limit: HISTORY_PAGE_SIZE, cursor: String(HISTORY_PAGE_SIZE) },
    );
  });
});
