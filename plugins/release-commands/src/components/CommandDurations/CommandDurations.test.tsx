import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen, waitFor, within } from '@testing-library/react';
import {
  ENTITY_REF,
  FakeReleaseCommandsApi,
  aRun,
  aStep,
  httpError,
  runsTaking,
} from '../../__testUtils__/FakeReleaseCommandsApi';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { CommandDurations } from './CommandDurations';
import { CHART_HEIGHT, CHART_MARGIN } from './DurationChart';

jest.setTimeout(30_000);

function renderDurations(api: FakeReleaseCommandsApi) {
  return renderInTestApp(<CommandDurations entityRef={ENTITY_REF} />, {
    apis: [[releaseCommandsApiRef, api]],
  });
}

/** The list item of one command. */
async function findCommand(label: string) {
  const list = await screen.findByRole('list', { name: 'Command durations' });
  const item = within(list)
    .getAllByRole('listitem')
    .find(li => within(li).queryByText(label));
  if (!item) throw new Error(`No item for ${label}`);
  return item;
}

/** The chart's svg: its line's points (y from the top) and the timeout's y. */
function readChart(chart: HTMLElement) {
  const svg = chart.querySelector('svg');
  if (!svg) throw new Error('No svg in the chart');
  // The first polyline fills the area under the line, the second is the line.
  const polylines = svg.querySelectorAll('polyline');
  const numbers = polylines[1].getAttribute('points')!.split(' ').map(Number);
  const ys = numbers.filter((_, i) => i % 2 === 1);
  const lines = svg.querySelectorAll('line');
  expect(lines).toHaveLength(1);
  return { svg, ys, timeoutY: Number(lines[0].getAttribute('y1')) };
}

const TOP = CHART_MARGIN;
const BOTTOM = CHART_HEIGHT - CHART_MARGIN;

describe('CommandDurations', () => {
  it("draws each command's durations, in the newest run's order, with its timeout", async () => {
    const runs = [12, 14, 16].map((seconds, i) =>
      aRun({
        id: `eeeeeeee-eeee-4eee-8eee-${String(i).padStart(12, '0')}`,
        steps: [
          aStep({ label: 'Security checks', seconds: 6, timeoutSeconds: 120 }),
          aStep({ position: 1, label: 'Migrate database', seconds }),
        ],
      }),
    );
    const api = new FakeReleaseCommandsApi({ runs: runs.reverse() });
    renderDurations(api);

    const list = await screen.findByRole('list', { name: 'Command durations' });
    expect(
      within(list)
        .getAllByRole('listitem')
        .map(item => within(item).getByRole('img').getAttribute('aria-label')),
    ).toEqual([
      'Durations of Security checks over the last 3 runs; timeout 2 min',
      'Durations of Migrate database over the last 3 runs; timeout 30 min',
    ]);
    const security = await findCommand('Security checks');
    expect(
      within(security).getByText('last 6.0 s · 5% of 2 min timeout'),
    ).toBeInTheDocument();
    const migrate = await findCommand('Migrate database');
    expect(
      within(migrate).getByText('last 16 s · 1% of 30 min timeout'),
    ).toBeInTheDocument();
    expect(api.listRuns).toHaveBeenCalledWith(ENTITY_REF, { limit: 30 });

    const chart = readChart(
      within(migrate).getByRole('img', {
        name: 'Durations of Migrate database over the last 3 runs; timeout 30 min',
      }),
    );
    // Every run was far quicker than the timeout: the scale ends at it.
    expect(chart.timeoutY).toBeCloseTo(TOP);
    expect(chart.ys).toHaveLength(3);
    chart.ys.forEach(y => expect(y).toBeGreaterThan(BOTTOM - 1));
    // And rises with the durations (y grows downwards).
    expect(chart.ys[0]).toBeGreaterThan(chart.ys[2]);
  });

  it('draws the timeout where a run that took it is, when one took longer', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: [
        ...runsTaking([66], { timeoutSeconds: 60, status: 'timed_out' }),
        ...runsTaking([0, 30, 60], { timeoutSeconds: 60 }),
      ],
    });
    renderDurations(api);
    const { ys, timeoutY } = readChart(
      await screen.findByRole('img', {
        name: 'Durations of Migrate database over the last 4 runs; timeout 1 min',
      }),
    );
    // 0 at the bottom, the slowest (66 s) at the top, the timeout through 60 s.
    expect(ys[0]).toBeCloseTo(BOTTOM);
    expect(ys[3]).toBeCloseTo(TOP);
    expect(timeoutY).toBeCloseTo(ys[2]);
    expect(timeoutY).toBeCloseTo(TOP + (6 / 66) * (BOTTOM - TOP));
  });

  it('draws a single run with its timeout', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: runsTaking([45], { timeoutSeconds: 60 }),
    });
    renderDurations(api);
    const chart = await screen.findByRole('img', {
      name: 'Durations of Migrate database over the last 1 run; timeout 1 min',
    });
    const { svg, timeoutY } = readChart(chart);
    const line = svg.querySelector('line')!;
    expect(Number(line.getAttribute('x2'))).toBeGreaterThan(
      Number(line.getAttribute('x1')),
    );
    expect(timeoutY).toBeCloseTo(TOP);
  });

  it('warns of a command trending toward its timeout, not of a steady one', async () => {
    const seconds = [
      [20, 60],
      [30, 60],
      [40, 60],
      [50, 60],
      [60, 60],
    ];
    const runs = seconds
      .map(([rising, flat], i) =>
        aRun({
          id: `ffffffff-ffff-4fff-8fff-${String(i).padStart(12, '0')}`,
          steps: [
            aStep({ seconds: rising, timeoutSeconds: 100 }),
            aStep({
              position: 1,
              label: 'Security checks',
              seconds: flat,
              timeoutSeconds: 100,
            }),
          ],
        }),
      )
      .reverse();
    renderDurations(new FakeReleaseCommandsApi({ runs }));

    const migrate = await findCommand('Migrate database');
    expect(within(migrate).getByTitle('Warning')).toBeInTheDocument();
    expect(
      within(migrate).getByText(
        '"Migrate database" is getting slower and at this pace reaches its 1m 40s timeout within 4 runs (its last run took 1m 0s, 60%): make it faster or raise its timeout.',
      ),
    ).toBeInTheDocument();

    const security = await findCommand('Security checks');
    expect(
      within(security).getByText('last 1 min · 60% of 1 min 40 s timeout'),
    ).toBeInTheDocument();
    expect(within(security).queryByTitle('Warning')).toBeNull();
    expect(within(security).queryByText(/getting slower/)).toBeNull();
  });

  it('says so when no run has finished a command yet', async () => {
    const api = new FakeReleaseCommandsApi({
      runs: [
        aRun({
          status: 'running',
          finishedAt: null,
          steps: [aStep({ status: 'running', finishedAt: null })],
        }),
      ],
    });
    renderDurations(api);
    expect(await screen.findByText(/No finished runs yet/)).toBeInTheDocument();
    expect(screen.queryByRole('img')).toBeNull();
  });

  it('says so when there are no runs', async () => {
    renderDurations(new FakeReleaseCommandsApi());
    expect(await screen.findByText(/No finished runs yet/)).toBeInTheDocument();
  });

  it('shows why the runs could not be loaded', async () => {
    const api = new FakeReleaseCommandsApi();
    api.listRuns.mockImplementation(async () => {
      throw await httpError(403, 'Not allowed to read the runs');
    });
    renderDurations(api);
    await waitFor(() =>
      expect(
        screen.getByText(/Could not load the durations: Not allowed/),
      ).toBeInTheDocument(),
    );
  });
});
