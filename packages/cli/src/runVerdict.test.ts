import { runVerdict } from './runVerdict';

describe('runVerdict', () => {
  const run = {
    id: 'r1',
    entityRef: 'component:default/shop',
    steps: [{ label: 'Migrate' }, { label: 'Check' }],
  } as Parameters<typeof runVerdict>[0];

  it.each([
    [
      'succeeded',
      null,
      0,
      'run r1 passed: 2 release commands of component:default/shop succeeded.',
    ],
    [
      'failed',
      '"Check" exited with code 1.',
      1,
      'run r1 failed: "Check" exited with code 1. The deployment must not proceed.',
    ],
    [
      'timed_out',
      '"Migrate" timed out after 30m 0s and was stopped.',
      1,
      'run r1 timed out: "Migrate" timed out after 30m 0s and was stopped. The deployment must not proceed.',
    ],
    [
      'cancelled',
      'Cancelled by user:default/jane.',
      1,
      'run r1 was cancelled: Cancelled by user:default/jane. The deployment must not proceed.',
    ],
    [
      'interrupted',
      'The backend running it stopped.',
      1,
      'run r1 was interrupted and did not complete, so it has not passed: The backend running it stopped. The deployment must not proceed.',
    ],
    [
      'running',
      null,
      3,
      'run r1 ended in an unknown state (running); look it up before deploying.',
    ],
  ] as const)(
    '%s (reason %s) exits %i',
    (status, reason, exitCode, message) => {
      expect(runVerdict(run, { status, reason })).toEqual({
        exitCode,
        message,
      });
    },
  );

  it('says why this CLI cancelled the run', () => {
    expect(
      runVerdict(
        run,
        {
          status: 'cancelled',
          reason: 'Cancelled by ci while "Check" was running.',
        },
        '--timeout of 600s reached',
      ).message,
    ).toBe(
      '--timeout of 600s reached: cancelled run r1 (Cancelled by ci while "Check" was running). The deployment must not proceed.',
    );
  });

  it('passes an entity without commands', () => {
    expect(
      runVerdict({ ...run, steps: [] }, { status: 'succeeded', reason: null }),
    ).toEqual({
      exitCode: 0,
      message:
        'run r1 passed: component:default/shop has no enabled release commands.',
    });
  });
});
