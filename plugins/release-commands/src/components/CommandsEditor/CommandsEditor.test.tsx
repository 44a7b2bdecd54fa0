import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent, { UserEvent } from '@testing-library/user-event';
import { CommandDeclaration } from '@release-commands/backstage-plugin-release-commands-common';
import {
  demoShopCommands,
  ENTITY_REF,
  FakeReleaseCommandsApi,
  httpError,
} from '../../__testUtils__/FakeReleaseCommandsApi';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { CommandsEditor } from './CommandsEditor';

// The permission hook caches answers per entity across tests, so a test that
// is refused uses an entity of its own.
const READ_ONLY_ENTITY_REF = 'component:default/read-only-shop';

async function renderEditor(
  api: FakeReleaseCommandsApi,
  options: { canUpdate?: boolean } = {},
) {
  const entityRef =
    options.canUpdate === false ? READ_ONLY_ENTITY_REF : ENTITY_REF;
  await renderInTestApp(<CommandsEditor entityRef={entityRef} />, {
    apis: [
      [releaseCommandsApiRef, api],
      mockApis.permission({
        authorize:
          options.canUpdate === false
            ? AuthorizeResult.DENY
            : AuthorizeResult.ALLOW,
      }),
    ],
  });
  await screen.findByRole('table', { name: /release commands in run order/i });
}

/** The labels of the rows, top to bottom. */
function rowLabels() {
  return screen
    .getAllByTestId(/^command-row-/)
    .map(row => within(row).getAllByRole('cell')[2].textContent);
}

/** Every row, own and declared, as label and source, top to bottom. */
function runOrder() {
  const table = screen.getByRole('table', {
    name: /release commands in run order/i,
  });
  return Array.from(table.querySelectorAll('tbody tr'), row => {
    const cells = within(row as HTMLElement).getAllByRole('cell');
    // The first cell is the drag handle's (empty for declared rows).
    return `${cells[1].textContent}. ${cells[2].textContent} (${cells[4].textContent})`;
  });
}

const REVISION = `sha256:3f2a9c1b0d4e${'0'.repeat(52)}`;

function repositoryDeclaration(
  overrides: Partial<CommandDeclaration> = {},
): CommandDeclaration {
  return {
    source: 'repository',
    location: './release-commands.yaml',
    revision: REVISION,
    commands: [
      {
        label: 'Collect static',
        command: 'python manage.py collectstatic',
        timeoutSeconds: 300,
        position: 'before',
      },
      {
        label: 'Clear sessions',
        command: 'python manage.py clearsessions',
        timeoutSeconds: null,
        position: 'after',
      },
    ],
    ...overrides,
  };
}

const savedBody = (api: FakeReleaseCommandsApi) =>
  api.replaceCommands.mock.calls[0][1];

jest.setTimeout(30_000);

describe('CommandsEditor', () => {
  let user: UserEvent;
  beforeEach(() => {
    user = userEvent.setup({ delay: null });
  });

  it('lists the commands in run order with source, enabled state and timeout', async () => {
    await renderEditor(new FakeReleaseCommandsApi());

    expect(rowLabels()).toEqual([
      'Migrate database',
      'Security checks',
      'Fix tree',
    ]);
    const [first, second, third] = screen.getAllByTestId(/^command-row-/);
    expect(within(first).getByText('./manage.sh migrate')).toBeInTheDocument();
    expect(within(first).getByText('Framework default')).toBeInTheDocument();
    expect(within(first).getByText('30 min (default)')).toBeInTheDocument();
    expect(within(second).getByText('Template')).toBeInTheDocument();
    expect(within(second).getByText('2 min')).toBeInTheDocument();
    expect(within(third).getByText('Added by you')).toBeInTheDocument();
    expect(
      within(first).getByRole('checkbox', {
        name: 'Enabled: Migrate database',
      }),
    ).toBeChecked();
    expect(
      within(third).getByRole('checkbox', { name: 'Enabled: Fix tree' }),
    ).not.toBeChecked();
    expect(screen.getByRole('button', { name: 'Save' })).toBeDisabled();
    // Without declared commands the # column is the list's own order.
    expect(screen.queryByTestId('run-order-rule')).toBeNull();
  });

  it('explains release commands when there are none', async () => {
    const api = new FakeReleaseCommandsApi({
      list: { ...new FakeReleaseCommandsApi().list, commands: [] },
    });
    await renderInTestApp(<CommandsEditor entityRef={ENTITY_REF} />, {
      apis: [[releaseCommandsApiRef, api], mockApis.permission()],
    });

    expect(
      await screen.findByText('No release commands yet'),
    ).toBeInTheDocument();
    expect(screen.getByText(/belongs in the/)).toHaveTextContent(
      'belongs in the Dockerfile',
    );
    expect(screen.getByText(/stays applied/)).toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Add a command' }),
    ).toBeInTheDocument();
  });

  it('adds a command and saves the whole list with the revision it read', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api);

    await user.click(screen.getByRole('button', { name: 'Add command' }));
    const dialog = screen.getByRole('dialog', {
      name: 'Add a release command',
    });
    await user.type(within(dialog).getByLabelText(/label/i), 'Flush cache');
    await user.type(
      within(dialog).getByLabelText(/command/i),
      'curl -X POST https://cdn.example.com/purge && echo done',
    );
    await user.type(within(dialog).getByLabelText(/timeout/i), '90');
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(rowLabels()).toEqual([
      'Migrate database',
      'Security checks',
      'Fix tree',
      'Flush cache',
    ]);
    expect(screen.getByText('You have unsaved changes.')).toBeInTheDocument();
    expect(api.replaceCommands).not.toHaveBeenCalled();

    await user.click(screen.getByRole('button', { name: 'Save' }));

    expect(await screen.findByText('All changes saved.')).toBeInTheDocument();
    expect(api.replaceCommands).toHaveBeenCalledTimes(1);
    expect(savedBody(api)).toEqual({
      revision: 3,
      commands: [
        expect.objectContaining({ id: '11111111-1111-4111-8111-111111111111' }),
        expect.objectContaining({ id: '22222222-2222-4222-8222-222222222222' }),
        expect.objectContaining({ id: '33333333-3333-4333-8333-333333333333' }),
        {
          label: 'Flush cache',
          command: 'curl -X POST https://cdn.example.com/purge && echo done',
          enabled: true,
          timeoutSeconds: 90,
        },
      ],
    });
    expect(api.list.revision).toBe(4);
  });

  it('edits a command in place, keeping its id', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api);

    await user.click(
      screen.getByRole('button', { name: 'Edit Security checks' }),
    );
    const dialog = screen.getByRole('dialog', { name: 'Edit release command' });
    const label = within(dialog).getByLabelText(/label/i);
    expect(label).toHaveValue('Security checks');
    expect(within(dialog).getByLabelText(/timeout/i)).toHaveValue('120');
    await user.clear(label);
    await user.type(label, 'Check security settings');
    await user.clear(within(dialog).getByLabelText(/timeout/i));
    await user.click(within(dialog).getByRole('button', { name: 'Apply' }));

    expect(rowLabels()[1]).toBe('Check security settings');
    expect(
      within(screen.getByTestId('command-row-2')).getByText('30 min (default)'),
    ).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('All changes saved.');
    expect(savedBody(api).commands[1]).toEqual({
      id: '22222222-2222-4222-8222-222222222222',
      label: 'Check security settings',
      command: './manage.sh check-security',
      enabled: true,
      timeoutSeconds: null,
    });
  });

  it('deletes a command after asking', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api);

    await user.click(screen.getByRole('button', { name: 'Delete Fix tree' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete this command?' });
    expect(
      within(dialog).getByText('./manage.sh fix-tree'),
    ).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));

    expect(rowLabels()).toEqual(['Migrate database', 'Security checks']);
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('All changes saved.');
    expect(savedBody(api).commands.map(c => c.label)).toEqual([
      'Migrate database',
      'Security checks',
    ]);
  });

  it('discards unsaved changes', async () => {
    await renderEditor(new FakeReleaseCommandsApi());
    await user.click(screen.getByRole('button', { name: 'Delete Fix tree' }));
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await user.click(screen.getByRole('button', { name: 'Discard changes' }));
    expect(rowLabels()).toHaveLength(3);
    expect(screen.getByRole('button', { name: 'Save' })).toBeDisabled();
  });

  it('reorders with the keyboard, keeping focus on the moved command', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api);

    screen.getByRole('button', { name: 'Move Fix tree up' }).focus();
    await user.keyboard('{Enter}');
    expect(rowLabels()).toEqual([
      'Migrate database',
      'Fix tree',
      'Security checks',
    ]);
    expect(screen.getByRole('status')).toHaveTextContent(
      'Moved Fix tree to position 2 of 3.',
    );
    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: 'Move Fix tree up' }),
      ).toHaveFocus(),
    );

    // Pressing again moves it to the top, where "up" no longer applies.
    await user.keyboard('{Enter}');
    expect(rowLabels()[0]).toBe('Fix tree');
    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: 'Move Fix tree down' }),
      ).toHaveFocus(),
    );
    expect(
      screen.getByRole('button', { name: 'Move Fix tree up' }),
    ).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('All changes saved.');
    expect(savedBody(api).commands.map(c => c.id)).toEqual([
      '33333333-3333-4333-8333-333333333333',
      '11111111-1111-4111-8111-111111111111',
      '22222222-2222-4222-8222-222222222222',
    ]);
  });

  it('reorders by drag and drop', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api);
    const dataTransfer = {
      setData: jest.fn(),
      effectAllowed: '',
      dropEffect: '',
    };

    const [first, , third] = screen.getAllByTestId(/^command-row-/);
    // Rows drag from their handle, so their text stays selectable.
    expect(third).toHaveAttribute('draggable', 'false');
    fireEvent.mouseDown(screen.getByTestId('drag-handle-3'));
    expect(third).toHaveAttribute('draggable', 'true');
    fireEvent.dragStart(third, { dataTransfer });
    fireEvent.dragEnter(first, { dataTransfer });
    fireEvent.dragOver(first, { dataTransfer });
    fireEvent.drop(first, { dataTransfer });
    fireEvent.dragEnd(third, { dataTransfer });

    expect(rowLabels()).toEqual([
      'Fix tree',
      'Migrate database',
      'Security checks',
    ]);
    expect(dataTransfer.setData).toHaveBeenCalledWith(
      'text/plain',
      '33333333-3333-4333-8333-333333333333',
    );
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('All changes saved.');
    expect(savedBody(api).commands.map(c => c.label)).toEqual([
      'Fix tree',
      'Migrate database',
      'Security checks',
    ]);
  });

  it('tells the user someone else changed the list and offers to reload', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api);

    await user.click(screen.getByRole('button', { name: 'Delete Fix tree' }));
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    api.changeBehindTheUsersBack({
      commands: [
        ...api.list.commands,
        {
          ...api.list.commands[0],
          id: '44444444-4444-4444-8444-444444444444',
          label: 'Clear caches',
        },
      ],
    });
    await user.click(screen.getByRole('button', { name: 'Save' }));

    const alert = await screen.findByText(
      /Someone else changed these commands/,
    );
    expect(alert).toBeInTheDocument();
    expect(api.replaceCommands).toHaveBeenCalledWith(
      ENTITY_REF,
      expect.objectContaining({ revision: 3 }),
    );
    // Nothing was written: the other person's list is intact.
    expect(api.list.revision).toBe(4);
    expect(rowLabels()).toHaveLength(2);

    await user.click(screen.getByRole('button', { name: 'Reload' }));

    await waitFor(() =>
      expect(rowLabels()).toEqual([
        'Migrate database',
        'Security checks',
        'Fix tree',
        'Clear caches',
      ]),
    );
    expect(screen.queryByText(/Someone else changed/)).toBeNull();
    expect(screen.getByRole('button', { name: 'Save' })).toBeDisabled();
  });

  it('shows validation messages inline and adds nothing invalid', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api);

    await user.click(screen.getByRole('button', { name: 'Add command' }));
    const dialog = screen.getByRole('dialog', {
      name: 'Add a release command',
    });
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));

    expect(
      within(dialog).getByText('Label must not be empty'),
    ).toBeInTheDocument();
    expect(
      within(dialog).getByText('Command must not be empty'),
    ).toBeInTheDocument();

    await user.click(within(dialog).getByLabelText(/label/i));
    await user.paste('x'.repeat(101));
    expect(
      within(dialog).getByText('Label must be at most 100 characters'),
    ).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText(/command/i), '   ');
    expect(
      within(dialog).getByText('Command must not be only white space'),
    ).toBeInTheDocument();

    const timeout = within(dialog).getByLabelText(/timeout/i);
    await user.type(timeout, '1.5');
    expect(
      within(dialog).getByText('Timeout must be a whole number of seconds'),
    ).toBeInTheDocument();
    await user.clear(timeout);
    await user.type(timeout, '90000');
    expect(
      within(dialog).getByText(
        'Timeout must be at most 86400 seconds (24 hours)',
      ),
    ).toBeInTheDocument();

    await user.click(within(dialog).getByRole('button', { name: 'Add' }));
    expect(dialog).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(rowLabels()).toHaveLength(3);
  });

  it("shows the server's message when it refuses the list", async () => {
    const api = new FakeReleaseCommandsApi();
    api.replaceCommands.mockImplementationOnce(async () => {
      throw await httpError(400, 'commands.0.label must not be empty');
    });
    await renderEditor(api);
    await user.click(screen.getByRole('button', { name: 'Delete Fix tree' }));
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await user.click(screen.getByRole('button', { name: 'Save' }));

    expect(
      await screen.findByText(
        'Could not save the commands: commands.0.label must not be empty',
      ),
    ).toBeInTheDocument();
    expect(screen.getByText('You have unsaved changes.')).toBeInTheDocument();
  });

  it('is read-only without the update permission', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderEditor(api, { canUpdate: false });

    expect(
      await screen.findByText(/You can see these commands but not change them/),
    ).toBeInTheDocument();
    expect(rowLabels()).toHaveLength(3);
    expect(screen.queryByRole('button', { name: 'Add command' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Edit / })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Delete / })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Move / })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
    expect(screen.queryByRole('checkbox')).toBeNull();
    expect(screen.getByTestId('command-row-1')).not.toHaveAttribute(
      'draggable',
    );
    expect(screen.queryByTestId('drag-handle-1')).toBeNull();
  });

  describe('declared commands', () => {
    it('shows them read only, in run order among the own commands, with the file they come from', async () => {
      const api = new FakeReleaseCommandsApi();
      api.declarations = [
        repositoryDeclaration(),
        {
          source: 'image',
          location: 'shop:2',
          revision: `sha256:${'a'.repeat(64)}`,
          seenInRunId: 'run-1',
          commands: [
            {
              label: 'Check image',
              command: './check',
              timeoutSeconds: null,
              position: 'before',
            },
          ],
        },
      ];
      await renderEditor(api);
      await screen.findByTestId('declared-row-1');

      expect(runOrder()).toEqual([
        '1. Check image (Image)',
        '2. Collect static (Repository)',
        '3. Migrate database (Framework default)',
        '4. Security checks (Template)',
        '5. Fix tree (Added by you)',
        '6. Clear sessions (Repository)',
      ]);
      const collect = screen.getByTestId('declared-row-2');
      expect(within(collect).getByText('5 min')).toBeInTheDocument();
      expect(within(collect).getByText('Yes')).toBeInTheDocument();
      expect(within(collect).queryByRole('button')).toBeNull();
      expect(within(collect).queryByRole('checkbox')).toBeNull();
      expect(collect).not.toHaveAttribute('draggable');
      expect(
        within(screen.getByTestId('declared-row-3')).getByText(
          '30 min (default)',
        ),
      ).toBeInTheDocument();
      expect(
        screen.queryByRole('button', { name: 'Edit Collect static' }),
      ).toBeNull();
      // The own rows keep their own numbering for handles and moves.
      expect(screen.getByTestId('command-row-1')).toHaveTextContent(
        'Migrate database',
      );
      expect(
        screen.getByRole('button', { name: 'Move Migrate database up' }),
      ).toBeDisabled();
      expect(
        screen.getByRole('button', { name: 'Move Fix tree down' }),
      ).toBeDisabled();
      expect(
        screen.getByText(/Rows marked Repository are declared in/),
      ).toHaveTextContent(
        "Rows marked Repository are declared in ./release-commands.yaml (sha256:3f2a9c1b0d4e), named by the entity's release-commands/file annotation: change them there.",
      );
      expect(
        screen.getByText(/Rows marked Image were declared by/),
      ).toHaveTextContent(
        /shop:2 \(sha256:aaaaaaaaaaaa\), the image of the latest run/,
      );
      expect(screen.getByTestId('run-order-rule')).toHaveTextContent(
        "Runs go in the order of the # column: the image's before commands, the repository's before commands, this tab's enabled commands, the repository's after commands, then the image's after commands.",
      );
    });

    it('saves only the own commands, whatever is declared', async () => {
      const api = new FakeReleaseCommandsApi();
      api.declarations = [repositoryDeclaration()];
      await renderEditor(api);
      await screen.findByTestId('declared-row-1');

      await user.click(
        screen.getByRole('button', { name: 'Move Fix tree up' }),
      );
      expect(runOrder().map(row => row.replace(/ \(.*\)$/, ''))).toEqual([
        '1. Collect static',
        '2. Migrate database',
        '3. Fix tree',
        '4. Security checks',
        '5. Clear sessions',
      ]);
      await user.click(screen.getByRole('button', { name: 'Save' }));
      await screen.findByText('All changes saved.');
      expect(savedBody(api).commands.map(c => c.label)).toEqual([
        'Migrate database',
        'Fix tree',
        'Security checks',
      ]);
    });

    it('shows the table when only declared commands exist, and lets the user add their own', async () => {
      const api = new FakeReleaseCommandsApi({
        list: { ...demoShopCommands(), commands: [] },
      });
      api.declarations = [repositoryDeclaration()];
      await renderEditor(api);

      await screen.findByTestId('declared-row-2');
      expect(screen.queryByText('No release commands yet')).toBeNull();
      expect(screen.queryByTestId('command-row-1')).toBeNull();
      expect(
        screen.getByRole('button', { name: 'Add command' }),
      ).toBeInTheDocument();
    });

    it('says when a declaration cannot be used, and that runs fail before step 1', async () => {
      const api = new FakeReleaseCommandsApi();
      const problem =
        'The release commands declared in the file ./release-commands.yaml (release-commands/file annotation) cannot be parsed: unexpected end of the stream at line 3.';
      api.declarations = [
        repositoryDeclaration({ revision: null, commands: [], problem }),
      ];
      await renderEditor(api);

      const alert = await screen.findByRole('alert');
      expect(alert).toHaveTextContent(
        `${problem} Runs fail before step 1 until it is fixed.`,
      );
      expect(screen.queryByTestId(/^declared-row-/)).toBeNull();
      expect(rowLabels()).toHaveLength(3);
    });

    it('keeps the own list editable when the declared commands cannot be read', async () => {
      const api = new FakeReleaseCommandsApi();
      api.getDeclaredCommands.mockImplementationOnce(async () => {
        throw await httpError(503, 'The repository is not reachable');
      });
      api.declarations = [repositoryDeclaration()];
      await renderEditor(api);

      expect(
        await screen.findByText(
          /Could not read the commands declared for this entity: The repository is not reachable/,
        ),
      ).toBeInTheDocument();
      expect(
        screen.getByRole('button', { name: 'Edit Fix tree' }),
      ).toBeEnabled();
      await user.click(screen.getByRole('button', { name: 'Retry' }));
      expect(await screen.findByTestId('declared-row-1')).toHaveTextContent(
        'Collect static',
      );
    });
  });

  it('offers to try again when the list cannot be loaded', async () => {
    const api = new FakeReleaseCommandsApi();
    api.getCommands.mockImplementationOnce(async () => {
      throw await httpError(503, 'The database is not reachable');
    });
    await renderInTestApp(<CommandsEditor entityRef={ENTITY_REF} />, {
      apis: [[releaseCommandsApiRef, api], mockApis.permission()],
    });

    expect(
      await screen.findByText(
        /Could not load the release commands: The database is not reachable/,
      ),
    ).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(
      await screen.findByRole('table', {
        name: /release commands in run order/i,
      }),
    ).toBeInTheDocument();
  });
});
