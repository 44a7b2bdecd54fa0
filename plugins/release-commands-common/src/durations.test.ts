import {
  DURATION_SERIES_RUNS,
  DurationSeries,
  durationSeries,
  timeoutWarning,
} from './durations';
import { ReleaseCommandRun, RunStep } from './runs';

const START = Date.parse('2026-03-01T10:00:00.000Z');

function aStep(overrides: Partial<RunStep> & { seconds?: number }): RunStep {
  const { seconds = 4.2, ...step } = overrides;
  return {
    position: 0,
    label: 'Migrate database',
    source: null,
    command: './manage.sh migrate',
    timeoutSeconds: 1800,
    status: 'succeeded',
    exitCode: 0,
    oomKilled: false,
    startedAt: new Date(START).toISOString(),
    finishedAt: new Date(START + seconds * 1000).toISOString(),
    ...step,
  };
}

function aRun(id: string, steps: RunStep[]): ReleaseCommandRun {
  return {
    id,
    entityRef: 'component:default/demo-shop',
    environment: 'default',
    image: 'shop:1',
    imageId: null,
    imageDigest: null,
    commandsRevision: 1,
    status: 'succeeded',
    trigger: 'pipeline',
    triggeredBy: 'plugin:ci',
    envKeys: [],
    reason: null,
    createdAt: new Date(START).toISOString(),
    startedAt: new Date(START).toISOString(),
    finishedAt: new Date(START).toISOString(),
    cancelRequestedAt: null,
    cancelRequestedBy: null,
    steps,
  };
}

/** A series of one command, oldest first, with a 100 s timeout. */
function series(
  seconds: number[],
  options: { latestStatus?: 'succeeded' | 'failed' | 'timed_out' } = {},
): DurationSeries {
  return {
    label: 'Migrate database',
    timeoutSeconds: 100,
    points: seconds.map((s, i) => ({
      runId: `run-${i}`,
      seconds: s,
      status:
        i === seconds.length - 1
          ? options.latestStatus ?? 'succeeded'
          : 'succeeded',
      finishedAt: new Date(START + i * 60_000).toISOString(),
    })),
  };
}

describe('durationSeries', () => {
  it('gives each command its durations oldest first, from runs listed newest first', () => {
    const runs = [
      aRun('run-3', [
        aStep({ seconds: 3 }),
        aStep({ position: 1, label: 'Security checks', seconds: 30 }),
      ]),
      aRun('run-2', [aStep({ seconds: 2, status: 'failed', exitCode: 1 })]),
      aRun('run-1', [aStep({ seconds: 1 })]),
    ];
    expect(durationSeries(runs)).toEqual([
      {
        label: 'Migrate database',
        timeoutSeconds: 1800,
        points: [
          {
            runId: 'run-1',
            seconds: 1,
            status: 'succeeded',
            finishedAt: '2026-03-01T10:00:01.000Z',
          },
          {
            runId: 'run-2',
            seconds: 2,
            status: 'failed',
            finishedAt: '2026-03-01T10:00:02.000Z',
          },
          {
            runId: 'run-3',
            seconds: 3,
            status: 'succeeded',
            finishedAt: '2026-03-01T10:00:03.000Z',
          },
        ],
      },
      {
        label: 'Security checks',
        timeoutSeconds: 1800,
        points: [
          {
            runId: 'run-3',
            seconds: 30,
            status: 'succeeded',
            finishedAt: '2026-03-01T10:00:30.000Z',
          },
        ],
      },
    ]);
  });

  it(`reads only the newest ${DURATION_SERIES_RUNS} runs`, () => {
    const runs = Array.from({ length: DURATION_SERIES_RUNS + 5 }, (_, i) =>
      aRun(`run-${i}`, [aStep({ seconds: i + 1 })]),
    );
    const [migrate] = durationSeries(runs);
    expect(migrate.points).toHaveLength(DURATION_SERIES_RUNS);
    expect(migrate.points[0].runId).toBe(`run-${DURATION_SERIES_RUNS - 1}`);
    expect(migrate.points[DURATION_SERIES_RUNS - 1].runId).toBe('run-0');
  });

  it('leaves out steps that did not run to an end', () => {
    const runs = [
      aRun('running', [aStep({ status: 'running', finishedAt: null })]),
      aRun('skipped', [aStep({ status: 'skipped', startedAt: null })]),
      aRun('cancelled', [aStep({ status: 'cancelled' })]),
      aRun('interrupted', [aStep({ status: 'interrupted' })]),
      aRun('no-end', [aStep({ status: 'failed', finishedAt: null })]),
      aRun('measured', [aStep({})]),
    ];
    expect(durationSeries(runs).map(s => s.points.map(p => p.runId))).toEqual([
      ['measured'],
    ]);
  });

  it('has no series for a command that never ran to an end', () => {
    expect(
      durationSeries([
        aRun('skipped', [aStep({ status: 'skipped', startedAt: null })]),
      ]),
    ).toEqual([]);
    expect(durationSeries([])).toEqual([]);
  });

  it('measures a timed-out step rather than taking its timeout', () => {
    const [migrate] = durationSeries([
      aRun('run-1', [
        aStep({ status: 'timed_out', timeoutSeconds: 60, seconds: 61.5 }),
      ]),
    ]);
    expect(migrate.points[0]).toMatchObject({
      seconds: 61.5,
      status: 'timed_out',
    });
  });

  it("draws the timeout of the newest point's step", () => {
    const [migrate] = durationSeries([
      aRun('running', [
        aStep({ timeoutSeconds: 900, status: 'running', finishedAt: null }),
      ]),
      aRun('run-2', [aStep({ timeoutSeconds: 600 })]),
      aRun('run-1', [aStep({ timeoutSeconds: 300 })]),
    ]);
    expect(migrate.timeoutSeconds).toBe(600);
  });

  it("lists commands in the newest run's order, then those only older runs have", () => {
    const runs = [
      aRun('run-2', [
        aStep({ label: 'Security checks' }),
        aStep({ position: 1, label: 'Migrate database' }),
      ]),
      aRun('run-1', [
        aStep({ label: 'Fix tree' }),
        aStep({ position: 1, label: 'Migrate database' }),
      ]),
    ];
    expect(durationSeries(runs).map(s => s.label)).toEqual([
      'Security checks',
      'Migrate database',
      'Fix tree',
    ]);
  });
});

describe('timeoutWarning', () => {
  it('warns from 75% of the timeout in the newest run, not at 74%', () => {
    expect(timeoutWarning(series([74]))).toBeNull();
    expect(timeoutWarning(series([75]))).toEqual({
      label: 'Migrate database',
      runId: 'run-0',
      latestSeconds: 75,
      timeoutSeconds: 100,
      share: 0.75,
      reason:
        '"Migrate database" took 1m 15s of its 1m 40s timeout (75%) in its last run: make it faster or raise its timeout.',
    });
  });

  it('judges the newest run, not an earlier slow one', () => {
    expect(timeoutWarning(series([90, 20]))).toBeNull();
  });

  it('reads a trend from 5 points on, not from 4', () => {
    expect(timeoutWarning(series([30, 40, 50, 60]))).toBeNull();
    expect(timeoutWarning(series([20, 30, 40, 50, 60]))).toMatchObject({
      latestSeconds: 60,
      share: 0.6,
      reason:
        '"Migrate database" is getting slower and at this pace reaches its 1m 40s timeout within 4 runs (its last run took 1m 0s, 60%): make it faster or raise its timeout.',
    });
  });

  it('does not warn of a flat series below 75%', () => {
    expect(timeoutWarning(series(Array(10).fill(70)))).toBeNull();
  });

  it('does not warn of a rise that stays below the timeout for the next 10 runs', () => {
    // 64 s now, 1 s more per run: 74 s ten runs on.
    expect(timeoutWarning(series([60, 61, 62, 63, 64]))).toBeNull();
    // 3 s more per run reaches 100 s in exactly ten runs.
    expect(timeoutWarning(series([58, 61, 64, 67, 70]))).toMatchObject({
      reason: expect.stringContaining('within 10 runs'),
    });
  });

  it('does not read a trend before the newest run reaches 50%', () => {
    expect(timeoutWarning(series([10, 20, 30, 40, 49]))).toBeNull();
    expect(timeoutWarning(series([10, 20, 30, 40, 50]))).not.toBeNull();
  });

  it('reads the trend through the last 10 points only', () => {
    const rising = [0, 7, 14, 21, 28, 35, 42, 49, 56, 60];
    expect(timeoutWarning(series(rising))).not.toBeNull();
    expect(
      timeoutWarning(series([...rising, ...Array(10).fill(60)])),
    ).toBeNull();
  });

  it('always warns when the newest run timed out', () => {
    expect(
      timeoutWarning(series([20, 20, 101], { latestStatus: 'timed_out' })),
    ).toMatchObject({
      share: 1.01,
      reason:
        '"Migrate database" timed out in its last run, after 1m 41s against a 1m 40s timeout: make it faster or raise its timeout.',
    });
    // Even when the measured time says less (a timeout lowered since).
    expect(
      timeoutWarning(series([10], { latestStatus: 'timed_out' })),
    ).not.toBeNull();
  });
});
