import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent, { UserEvent } from '@testing-library/user-event';
import {
  ENTITY_REF,
  FakeReleaseCommandsApi,
  aCommand,
  aRun,
  aStep,
  demoShopCommands,
  httpError,
  runsTaking,
} from '../../__testUtils__/FakeReleaseCommandsApi';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { RUNS_PAGE_SIZE, RunsTable } from './RunsTable';

jest.setTimeout(30_000);

const runId = (n: number) =>
  `cccccccc-cccc-4ccc-8ccc-${String(n).padStart(12, '0')}`;

function renderRuns(
  api: FakeReleaseCommandsApi,
  options: { entityRef?: string; canRun?: boolean } = {},
) {
  const onOpenRun = jest.fn();
  const rendered = renderInTestApp(
    <RunsTable
      entityRef={options.entityRef ?? ENTITY_REF}
      defaultImage="release-commands-demo/shop:1"
      runHref={id => `/runs?run=${id}`}
      onOpenRun={onOpenRun}
    />,
    {
      apis: [
        [releaseCommandsApiRef, api],
        mockApis.permission({
          authorize:
            options.canRun === false
              ? AuthorizeResult.DENY
              : AuthorizeResult.ALLOW,
        }),
      ],
    },
  );
  return { onOpenRun, rendered };
}

function rows() {
  // The first row is the header.
  return screen.getAllByRole('row').slice(1);
}

describe('RunsTable', () => {
  let user: UserEvent;
  beforeEach(() => {
    user = userEvent.setup({ delay: null });
  });

  it('shows each run with its status, image, environment, trigger, duration and reason', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: [
        aRun({
          id: runId(2),
          status: 'failed',
          environment: 'production',
          image: 'registry.example.com/shop:1.4.2',
          trigger: 'pipeline',
          triggeredBy: 'plugin:ci',
          startedAt: '2026-03-01T10:00:00.000Z',
          finishedAt: '2026-03-01T10:01:05.000Z',
          reason:
            '"Security checks" exited with code 1. The deployment must not proceed.',
        }),
        aRun({
          id: runId(1),
          status: 'succeeded',
          trigger: 'manual',
          triggeredBy: 'user:default/guest',
        }),
      ],
    });
    const { onOpenRun } = renderRuns(api);

    await waitFor(() => expect(rows()).toHaveLength(2));
    const [failed, succeeded] = rows();
    expect(within(failed).getByText('Failed')).toBeInTheDocument();
    expect(
      within(failed).getByText('registry.example.com/shop:1.4.2'),
    ).toBeInTheDocument();
    expect(within(failed).getByText('production')).toBeInTheDocument();
    expect(within(failed).getByText('plugin:ci')).toBeInTheDocument();
    expect(within(failed).getByText('deploy pipeline')).toBeInTheDocument();
    expect(within(failed).getByText('1 min 5 s')).toBeInTheDocument();
    expect(
      within(failed).getByText(/"Security checks" exited with code 1/),
    ).toBeInTheDocument();
    expect(within(succeeded).getByText('Succeeded')).toBeInTheDocument();
    expect(within(succeeded).getByText('by hand')).toBeInTheDocument();
    expect(within(succeeded).getByText('4.2 s')).toBeInTheDocument();
    expect(within(failed).getByRole('link')).toHaveAttribute(
      'href',
      `/runs?run=${runId(2)}`,
    );

    // material-table tells a click from a double click by waiting a moment.
    await user.click(within(failed).getByText('production'));
    await waitFor(() => expect(onOpenRun).toHaveBeenCalledWith(runId(2)));
  });

  it('warns under the run that last ran a command trending toward its timeout', async () => {
    const reason =
      '"Migrate database" is getting slower and at this pace reaches its 1m 40s timeout within 4 runs (its last run took 1m 0s, 60%): make it faster or raise its timeout.';
    const api = new FakeReleaseCommandsApi({
      runs: [
        // Still going: no duration of its own yet.
        aRun({
          id: runId(9),
          status: 'running',
          finishedAt: null,
          steps: [aStep({ status: 'running', finishedAt: null })],
        }),
        ...runsTaking([20, 30, 40, 50, 60], { timeoutSeconds: 100 }),
      ],
    });
    renderRuns(api);

    await waitFor(() => expect(rows()).toHaveLength(6));
    const [running, lastRan, ...older] = rows();
    expect(await within(lastRan).findByText(reason)).toBeInTheDocument();
    expect(within(lastRan).getByTitle('Warning')).toBeInTheDocument();
    expect(within(lastRan).getByText('Succeeded')).toBeInTheDocument();
    expect(within(running).queryByText(/getting slower/)).toBeNull();
    for (const row of older) {
      expect(within(row).queryByText(/getting slower/)).toBeNull();
    }
    expect(screen.getAllByText(reason)).toHaveLength(1);
    expect(api.listRuns).toHaveBeenCalledWith(ENTITY_REF, { limit: 30 });
  });

  it('does not warn of a command whose durations hold steady', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: runsTaking(Array(10).fill(60), { timeoutSeconds: 100 }),
    });
    renderRuns(api);
    await waitFor(() => expect(rows()).toHaveLength(RUNS_PAGE_SIZE));
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenCalledWith(ENTITY_REF, { limit: 30 }),
    );
    expect(screen.queryByTitle('Warning')).toBeNull();
    expect(screen.queryByText(/timeout/)).toBeNull();
  });

  it('pages through older runs with the cursor the API gives', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: Array.from({ length: RUNS_PAGE_SIZE + 3 }, (_, i) =>
        aRun({ id: runId(i), environment: `env-${i}` }),
      ),
    });
    renderRuns(api);

    await waitFor(() => expect(rows()).toHaveLength(RUNS_PAGE_SIZE));
    expect(screen.getByText('Page 1')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Newer' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Older' }));
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(screen.getByText('env-10')).toBeInTheDocument();
    expect(api.listRuns).toHaveBeenLastCalledWith(ENTITY_REF, {
      limit: RUNS_PAGE_SIZE,
      cursor: String(RUNS_PAGE_SIZE),
    });
    expect(screen.getByRole('button', { name: 'Older' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Newer' }));
    await waitFor(() => expect(rows()).toHaveLength(RUNS_PAGE_SIZE));
    expect(screen.getByText('env-0')).toBeInTheDocument();
  });

  it('says under the table how long runs are kept, as the backend tells it', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: Array.from({ length: RUNS_PAGE_SIZE + 1 }, (_, i) =>
        aRun({ id: runId(i) }),
      ),
    });
    renderRuns(api);
    expect(
      await screen.findByText('Runs are kept for 90 days after they end.'),
    ).toBeInTheDocument();
    // Beside the paging, on every page.
    await user.click(screen.getByRole('button', { name: 'Older' }));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(
      screen.getByText('Runs are kept for 90 days after they end.'),
    ).toBeInTheDocument();
  });

  it('says how long runs are kept also when there are none', async () => {
    renderRuns(new FakeReleaseCommandsApi({ retentionSeconds: 36 * 3600 }));
    expect(
      await screen.findByText('Runs are kept for 36 hours after they end.'),
    ).toBeInTheDocument();
    expect(screen.getByText(/No runs yet/)).toBeInTheDocument();
  });

  it('says that every run is kept when retention is off', async () => {
    renderRuns(
      new FakeReleaseCommandsApi({ runs: [aRun({})], retentionSeconds: null }),
    );
    expect(
      await screen.findByText('Runs are kept indefinitely.'),
    ).toBeInTheDocument();
    expect(screen.queryByText(/Runs are kept for/)).toBeNull();
  });

  it('says so when there are no runs yet', async () => {
    renderRuns(new FakeReleaseCommandsApi());
    expect(await screen.findByText(/No runs yet/)).toBeInTheDocument();
  });

  it('shows why the runs could not be loaded', async () => {
    const api = new FakeReleaseCommandsApi();
    api.listRuns.mockImplementation(async () => {
      throw await httpError(403, 'Not allowed to read the runs');
    });
    renderRuns(api);
    expect(
      await screen.findByText(/Could not load the runs: Not allowed/),
    ).toBeInTheDocument();
  });

  it('checks the image reference before starting a run, then opens it', async () => {
    const api = new FakeReleaseCommandsApi();
    const { onOpenRun } = renderRuns(api);

    await user.click(
      await screen.findByRole('button', { name: 'Run release commands' }),
    );
    const dialog = screen.getByRole('dialog', { name: 'Run release commands' });
    const image = within(dialog).getByLabelText(/image/i);
    expect(image).toHaveValue('release-commands-demo/shop:1');

    await user.clear(image);
    await user.type(image, 'Shop:Latest!');
    await user.click(within(dialog).getByRole('button', { name: 'Run' }));
    expect(
      within(dialog).getByText(/Image must be an image reference such as/),
    ).toBeInTheDocument();

    await user.type(within(dialog).getByLabelText(/environment/i), 'Prod');
    expect(
      within(dialog).getByText(/Environment must be a short lower-case name/),
    ).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText(/variables/i), 'not a pair');
    expect(
      within(dialog).getByText('Line 1 must look like NAME=value'),
    ).toBeInTheDocument();
    expect(api.createRun).not.toHaveBeenCalled();

    await user.clear(image);
    await user.type(image, 'registry.example.com/shop:1.4.2');
    await user.clear(within(dialog).getByLabelText(/environment/i));
    await user.type(within(dialog).getByLabelText(/environment/i), 'test');
    await user.clear(within(dialog).getByLabelText(/variables/i));
    await user.type(
      within(dialog).getByLabelText(/variables/i),
      'SHOP_HTTPS_ENFORCED=yes',
    );
    await user.click(within(dialog).getByRole('button', { name: 'Run' }));

    await waitFor(() => expect(onOpenRun).toHaveBeenCalled());
    expect(api.createRun).toHaveBeenCalledWith(ENTITY_REF, {
      image: 'registry.example.com/shop:1.4.2',
      environment: 'test',
      env: { SHOP_HTTPS_ENFORCED: 'yes' },
    });
    expect(onOpenRun).toHaveBeenCalledWith(api.runs[0].id);
  });

  it("shows the server's refusal in the dialog", async () => {
    const api = new FakeReleaseCommandsApi();
    api.createRun.mockImplementationOnce(async () => {
      throw await httpError(
        409,
        'component:default/demo-shop already has an active run in default: run 1234',
      );
    });
    const { onOpenRun } = renderRuns(api);
    await user.click(
      await screen.findByRole('button', { name: 'Run release commands' }),
    );
    await user.click(screen.getByRole('button', { name: 'Run' }));

    expect(
      await screen.findByText(/already has an active run in default/),
    ).toBeInTheDocument();
    expect(onOpenRun).not.toHaveBeenCalled();
    expect(screen.getByRole('dialog')).toBeInTheDocument();
  });

  /** Opens the run dialog of a table with no runs. */
  async function openRunDialog(api: FakeReleaseCommandsApi, entityRef: string) {
    const { onOpenRun } = renderRuns(api, { entityRef });
    await user.click(
      await screen.findByRole('button', { name: 'Run release commands' }),
    );
    const dialog = screen.getByRole('dialog', { name: 'Run release commands' });
    return { dialog, onOpenRun };
  }

  it('checks a run without starting one: ready, with each step and the image', async () => {
    const entityRef = 'component:default/check-ready';
    const list = demoShopCommands();
    list.commands.push(
      aCommand({
        id: '44444444-4444-4444-8444-444444444444',
        label: 'Say done',
        command: 'echo done',
      }),
    );
    const api = new FakeReleaseCommandsApi({ list });
    const { dialog, onOpenRun } = await openRunDialog(api, entityRef);

    await user.type(within(dialog).getByLabelText(/environment/i), 'test');
    await user.click(
      within(dialog).getByRole('button', { name: 'Check only' }),
    );

    const result = await within(dialog).findByRole('region', {
      name: 'Check result',
    });
    expect(api.checkRun).toHaveBeenCalledWith(entityRef, {
      image: 'release-commands-demo/shop:1',
      environment: 'test',
    });
    expect(within(result).getByText('Ready to run')).toBeInTheDocument();
    expect(
      within(result).getByText(
        /3 commands would run on release-commands-demo\/shop:1 in environment test\. Nothing was started\./,
      ),
    ).toBeInTheDocument();
    expect(
      within(result).getByText(
        'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      ),
    ).toBeInTheDocument();
    const steps = within(
      within(result).getByRole('table', { name: 'Planned steps' }),
    )
      .getAllByRole('row')
      .slice(1);
    expect(steps.map(row => row.textContent)).toEqual([
      '1Migrate database./manage.sh migrate./manage.sh/app/manage.sh30 min',
      '2Security checks./manage.sh check-security./manage.sh/app/manage.sh2 min',
      '3Say doneecho doneechobuilt into the shell30 min',
    ]);

    // Nothing started: the dialog stays, the table still has no runs.
    expect(api.createRun).not.toHaveBeenCalled();
    expect(onOpenRun).not.toHaveBeenCalled();
    expect(api.runs).toEqual([]);
    expect(screen.getByText(/No runs yet/)).toBeInTheDocument();

    // The answer was for that image: another one needs its own check.
    await user.type(within(dialog).getByLabelText(/image/i), '.1');
    expect(
      within(dialog).queryByRole('region', { name: 'Check result' }),
    ).toBeNull();
  });

  it('shows each problem a check finds, and starts nothing', async () => {
    const entityRef = 'component:default/check-problems';
    const api = new FakeReleaseCommandsApi();
    api.missingExecutables = ['./manage.sh'];
    api.planProblems = [
      `${entityRef} already has an active run in default: run 6f1c0000-0000-4000-8000-000000000000, started by plugin:ci.`,
    ];
    const { dialog, onOpenRun } = await openRunDialog(api, entityRef);

    await user.click(
      within(dialog).getByRole('button', { name: 'Check only' }),
    );

    const result = await within(dialog).findByRole('region', {
      name: 'Check result',
    });
    const alert = within(result).getByRole('alert');
    expect(
      within(alert).getByText('Not ready: 3 problems would stop the run'),
    ).toBeInTheDocument();
    expect(
      within(alert)
        .getAllByRole('listitem')
        .map(item => item.textContent),
    ).toEqual([
      api.planProblems[0],
      'Step 1 of 2, "Migrate database": ./manage.sh is not in the image release-commands-demo/shop:1 (command -v found nothing there, as the step would run).',
      'Step 2 of 2, "Security checks": ./manage.sh is not in the image release-commands-demo/shop:1 (command -v found nothing there, as the step would run).',
    ]);
    expect(within(result).getAllByText('missing')).toHaveLength(2);
    expect(within(result).queryByText('Ready to run')).toBeNull();

    expect(api.createRun).not.toHaveBeenCalled();
    expect(onOpenRun).not.toHaveBeenCalled();
    expect(screen.getByText(/No runs yet/)).toBeInTheDocument();
    // Still a choice: the dialog stays, ready to check again or run.
    expect(within(dialog).getByRole('button', { name: 'Run' })).toBeEnabled();
  });

  it("shows the server's refusal of a check in the dialog", async () => {
    const entityRef = 'component:default/check-refused';
    const api = new FakeReleaseCommandsApi();
    api.checkRun.mockImplementationOnce(async () => {
      throw await httpError(
        403,
        `release-commands-demo/shop:1 is not an allowed image for ${entityRef}`,
      );
    });
    const { dialog } = await openRunDialog(api, entityRef);

    await user.click(
      within(dialog).getByRole('button', { name: 'Check only' }),
    );

    expect(
      await within(dialog).findByText(/is not an allowed image for/),
    ).toBeInTheDocument();
    expect(
      within(dialog).queryByRole('region', { name: 'Check result' }),
    ).toBeNull();
    expect(api.createRun).not.toHaveBeenCalled();
  });

  it('offers no run button without the permission to start runs', async () => {
    const api = new FakeReleaseCommandsApi({ runs: [aRun({})] });
    renderRuns(api, {
      entityRef: 'component:default/no-runs-allowed',
      canRun: false,
    });
    await waitFor(() => expect(rows()).toHaveLength(1));
    await waitFor(() =>
      expect(
        screen.queryByRole('button', { name: 'Run release commands' }),
      ).toBeNull(),
    );
  });
});
