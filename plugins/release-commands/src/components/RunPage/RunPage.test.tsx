import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import {
  RunLogChunk,
  RunLogEnd,
  RunStep,
} from '@release-commands/backstage-plugin-release-commands-common';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent, { UserEvent } from '@testing-library/user-event';
import {
  FakeReleaseCommandsApi,
  aRun,
} from '../../__testUtils__/FakeReleaseCommandsApi';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { RunPage } from './RunPage';

jest.setTimeout(30_000);

const RUN_ID = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
const AT = '2026-03-01T10:00:00.000Z';

function step(position: number, overrides: Partial<RunStep>): RunStep {
  return {
    position,
    label: `Step ${position + 1}`,
    source: 'user',
    command: 'true',
    timeoutSeconds: 1800,
    status: 'pending',
    exitCode: null,
    oomKilled: false,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

function runningRun() {
  return aRun({
    id: RUN_ID,
    status: 'running',
    trigger: 'manual',
    triggeredBy: 'user:default/guest',
    finishedAt: null,
    steps: [
      step(0, {
        label: 'Migrate database',
        command: './manage.sh migrate',
        status: 'running',
        startedAt: AT,
      }),
      step(1, {
        label: 'Security checks',
        command: './manage.sh check-security',
      }),
    ],
  });
}

function chunk(
  seq: number,
  text: string,
  stream: RunLogChunk['stream'] = 'stdout',
): RunLogChunk {
  return { seq, step: null, stream, at: AT, text };
}

/** A followLog whose stream the test drives: each call is one connection. */
function controllableLog(api: FakeReleaseCommandsApi) {
  const connections: Array<{
    after?: number;
    emit: (c: RunLogChunk) => void;
    end: (e: RunLogEnd) => void;
    fail: (e: Error) => void;
  }> = [];
  api.followLog.mockImplementation(
    (_id, options) =>
      new Promise<RunLogEnd>((resolve, reject) => {
        connections.push({
          after: options.after,
          emit: c => act(() => options.onChunk(c)),
          end: resolve,
          fail: reject,
        });
      }),
  );
  return connections;
}

/**
 * The log's text as LogViewer renders it: one element per line, after its
 * line number. LogViewer turns `manage.sh` into a link with a hidden label.
 */
function logLines() {
  return within(screen.getByTestId('run-log'))
    .getAllByRole('row')
    .map(row =>
      row.parentElement?.textContent
        ?.replace(/^\d+/, '')
        .replace(', Opens in a new window', ''),
    );
}

async function renderRunPage(
  api: FakeReleaseCommandsApi,
  permission = mockApis.permission(),
) {
  await renderInTestApp(
    <RunPage
      runId={RUN_ID}
      allRunsHref="/catalog/default/component/demo-shop/release-commands"
    />,
    { apis: [[releaseCommandsApiRef, api], permission] },
  );
}

describe('RunPage', () => {
  let user: UserEvent;
  beforeEach(() => {
    user = userEvent.setup({ delay: null });
    // LogViewer sizes itself to its container, which jsdom does not lay out.
    jest
      .spyOn(HTMLElement.prototype, 'getBoundingClientRect')
      .mockReturnValue({ width: 1000, height: 600 } as DOMRect);
  });
  afterEach(() => jest.restoreAllMocks());

  it("shows each step's status and the log as its lines stream in", async () => {
    const api = new FakeReleaseCommandsApi({ runs: [runningRun()] });
    const connections = controllableLog(api);
    await renderRunPage(api);

    expect(
      await screen.findByText('Run on release-commands-demo/shop:1'),
    ).toBeInTheDocument();
    // The image every step runs, as resolved before the first.
    expect(screen.getByText(api.runs[0].imageId!)).toBeInTheDocument();
    expect(
      screen.getByText(
        /release-commands-demo\/shop:1 as resolved before the first step; every step ran it/,
      ),
    ).toBeInTheDocument();
    expect(
      within(screen.getByTestId('step-1')).getByText('Running'),
    ).toBeInTheDocument();
    expect(
      within(screen.getByTestId('step-2')).getByText('Pending'),
    ).toBeInTheDocument();
    expect(screen.getByText('Waiting for the first line…')).toBeInTheDocument();
    await waitFor(() => expect(connections).toHaveLength(1));

    connections[0].emit(
      chunk(1, '===== docker release commands =====\n', 'system'),
    );
    connections[0].emit(
      chunk(2, '[1/2] Migrate database: ./manage.sh migrate\n', 'system'),
    );
    await waitFor(() =>
      expect(logLines()).toEqual([
        '===== docker release commands =====',
        '[1/2] Migrate database: ./manage.sh migrate',
      ]),
    );

    // Colours arrive as ANSI escapes and are rendered, not printed.
    connections[0].emit(
      chunk(3, '\u001b[32mApplying 0001_initial... OK\u001b[0m\n'),
    );
    await waitFor(() => expect(logLines()).toHaveLength(3));
    expect(logLines()[2]).toBe('Applying 0001_initial... OK');

    // The run ends: the log says so and the steps are read again.
    const run = api.runs[0];
    Object.assign(run, {
      status: 'failed',
      reason:
        '"Security checks" exited with code 1. The deployment must not proceed.',
      finishedAt: '2026-03-01T10:00:01.000Z',
    });
    run.steps[0] = {
      ...run.steps[0],
      status: 'succeeded',
      exitCode: 0,
      finishedAt: AT,
    };
    run.steps[1] = {
      ...run.steps[1],
      status: 'failed',
      exitCode: 1,
      startedAt: AT,
      finishedAt: AT,
    };
    connections[0].end({ status: 'failed', reason: run.reason });

    expect(
      await screen.findByText('The run has ended; this is its whole log.'),
    ).toBeInTheDocument();
    expect(
      await screen.findByText(/"Security checks" exited with code 1/),
    ).toBeInTheDocument();
    expect(
      within(screen.getByTestId('step-2')).getByText('Failed'),
    ).toBeInTheDocument();
    expect(
      within(screen.getByTestId('step-2')).getByText('exit 1'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Cancel run' })).toBeNull();
    expect(connections).toHaveLength(1);
  });

  it('resumes after a network blip from the last line it received', async () => {
    const api = new FakeReleaseCommandsApi({ runs: [runningRun()] });
    const connections = controllableLog(api);
    await renderRunPage(api);
    await waitFor(() => expect(connections).toHaveLength(1));

    connections[0].emit(chunk(1, 'line one\n'));
    connections[0].emit(chunk(2, 'line two\n'));
    connections[0].fail(new TypeError('network error'));

    expect(
      await screen.findByText(/Lost the connection to the log/),
    ).toBeInTheDocument();
    await waitFor(() => expect(connections).toHaveLength(2), { timeout: 5000 });
    expect(connections[1].after).toBe(2);

    // A chunk repeated by the server is shown once.
    connections[1].emit(chunk(2, 'line two\n'));
    connections[1].emit(chunk(3, 'line three\n'));
    await waitFor(() =>
      expect(logLines()).toEqual(['line one', 'line two', 'line three']),
    );
    expect(screen.queryByText(/Lost the connection/)).toBeNull();
  });

  it('searches the log', async () => {
    const api = new FakeReleaseCommandsApi({ runs: [runningRun()] });
    const connections = controllableLog(api);
    await renderRunPage(api);
    await waitFor(() => expect(connections).toHaveLength(1));
    connections[0].emit(chunk(1, 'database configuration ... passed\n'));
    connections[0].emit(
      chunk(2, 'gateway server ... failed (HTTPS not enforced)\n'),
    );
    await waitFor(() => expect(logLines()).toHaveLength(2));

    await user.type(screen.getByPlaceholderText(/search/i), 'HTTPS');
    expect(await screen.findByText('1/1')).toBeInTheDocument();
  });

  it('cancels a running run after asking', async () => {
    const api = new FakeReleaseCommandsApi({ runs: [runningRun()] });
    const connections = controllableLog(api);
    await renderRunPage(api);

    await user.click(await screen.findByRole('button', { name: 'Cancel run' }));
    const dialog = screen.getByRole('dialog', { name: 'Cancel this run?' });
    expect(within(dialog).getByText(/stays applied/)).toBeInTheDocument();
    await user.click(
      within(dialog).getByRole('button', { name: 'Cancel run' }),
    );

    expect(api.cancelRun).toHaveBeenCalledWith(RUN_ID);
    // The command is being stopped: the run is still running until it has.
    expect(
      await screen.findByRole('button', { name: 'Cancelling…' }),
    ).toBeDisabled();
    expect(
      screen.getByText(/user:default\/guest asked to cancel this run/),
    ).toBeInTheDocument();

    Object.assign(api.runs[0], {
      status: 'cancelled',
      finishedAt: AT,
      reason: 'Cancelled by user:default/guest',
    });
    connections[0].end({ status: 'cancelled', reason: api.runs[0].reason });

    expect(
      await screen.findByText('Cancelled by user:default/guest'),
    ).toBeInTheDocument();
    expect(screen.getByText('Cancelled')).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.queryByRole('button', { name: /Cancel/ })).toBeNull(),
    );
  });

  /** Renders a running run that `triggeredBy` started, for a user with runs.create only. */
  async function renderWithoutCancelRight(triggeredBy: string) {
    // An entity of its own: permission decisions are cached per resource
    // across renders, and other tests decide otherwise on demo-shop.
    const entityRef = `component:default/shop-of-${triggeredBy.split('/')[1]}`;
    const api = new FakeReleaseCommandsApi({
      runs: [{ ...runningRun(), triggeredBy, entityRef }],
    });
    controllableLog(api);
    const asked: string[] = [];
    await renderRunPage(
      api,
      mockApis.permission({
        authorize: ({ permission }) => {
          asked.push(permission.name);
          return permission.name === 'release-commands.runs.cancel'
            ? AuthorizeResult.DENY
            : AuthorizeResult.ALLOW;
        },
      }),
    );
    return asked;
  }

  it('offers cancel of their own run to a user with runs.create but not runs.cancel', async () => {
    // The test app's user is user:default/guest.
    await renderWithoutCancelRight('user:default/guest');

    expect(
      await screen.findByRole(
        'button',
        { name: 'Cancel run' },
        // Under load the page, the identity and the decisions take a while.
        { timeout: 10_000 },
      ),
    ).toBeInTheDocument();
  });

  it("offers no cancel of someone else's run without runs.cancel", async () => {
    const asked = await renderWithoutCancelRight('user:default/ada');

    await waitFor(
      () =>
        expect(asked).toEqual(
          expect.arrayContaining([
            'release-commands.runs.cancel',
            'release-commands.runs.create',
          ]),
        ),
      { timeout: 10_000 },
    );
    // The decisions land a turn after they are asked.
    await act(() => new Promise(resolve => setTimeout(resolve, 0)));
    expect(screen.getByTestId('step-1')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Cancel run' })).toBeNull();
  });

  it("says a step's command is hidden when the reader may not read commands", async () => {
    const run = runningRun();
    run.steps = run.steps.map(s => ({
      ...s,
      command: '',
      commandHidden: true as const,
    }));
    const api = new FakeReleaseCommandsApi({ runs: [run] });
    controllableLog(api);
    await renderRunPage(api);

    const first = await screen.findByTestId('step-1');
    expect(within(first).getByText('Migrate database')).toBeInTheDocument();
    expect(
      within(first).getByText(
        'Command hidden: reading it needs access to the commands',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText('./manage.sh migrate')).toBeNull();
  });

  it('shows where each step came from, and which file version declared it', async () => {
    const run = runningRun();
    const revision = `sha256:${'3f2a9c1b0d4e'}${'0'.repeat(52)}`;
    run.steps = [
      {
        ...run.steps[0],
        source: 'repository',
        declaredIn: { location: './release-commands.yaml', revision },
      },
      { ...run.steps[1], source: 'user' },
    ];
    const api = new FakeReleaseCommandsApi({ runs: [run] });
    controllableLog(api);
    await renderRunPage(api);

    const first = await screen.findByTestId('step-1');
    expect(within(first).getByText('Repository')).toBeInTheDocument();
    expect(within(first).getByTestId('declared-in')).toHaveTextContent(
      'Declared in ./release-commands.yaml (sha256:3f2a9c1b0d4e)',
    );
    const second = screen.getByTestId('step-2');
    expect(within(second).getByText('Added by you')).toBeInTheDocument();
    expect(within(second).queryByTestId('declared-in')).toBeNull();
  });

  it('shows the repository digest of a pulled image', async () => {
    const digest = `registry.example.com/shop@sha256:${'e'.repeat(64)}`;
    const api = new FakeReleaseCommandsApi({
      runs: [aRun({ id: RUN_ID, imageDigest: digest })],
    });
    controllableLog(api);
    await renderRunPage(api);

    expect(await screen.findByText(digest)).toBeInTheDocument();
  });

  it('shows no image id before the image is resolved', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: [{ ...runningRun(), imageId: null }],
    });
    controllableLog(api);
    await renderRunPage(api);

    expect(
      await screen.findByText('Run on release-commands-demo/shop:1'),
    ).toBeInTheDocument();
    expect(screen.queryByText('Image id')).toBeNull();
  });

  it('says when there is no such run', async () => {
    const api = new FakeReleaseCommandsApi();
    await renderRunPage(api);
    expect(await screen.findByText(/There is no run/)).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: /All release commands and runs/ }),
    ).toHaveAttribute(
      'href',
      '/catalog/default/component/demo-shop/release-commands',
    );
  });
});
