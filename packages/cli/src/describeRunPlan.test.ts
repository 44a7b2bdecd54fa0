import { RunPlan } from '@release-commands/backstage-plugin-release-commands-common';
import { describeRunPlan } from './describeRunPlan';
import { runPlanVerdict } from './runVerdict';

const IMAGE_ID =
  'sha256:d0a1c39d6edf1f1a4f0cbb3e5e55e3b1e0c6f5d6a7b8c9d0e1f2a3b4c5d6e7f8';

function aPlan(overrides: Partial<RunPlan>): RunPlan {
  return {
    dryRun: true,
    ok: true,
    entityRef: 'component:default/shop',
    environment: 'production',
    image: 'registry.example.com/shop:1.4.2',
    imageId: IMAGE_ID,
    imageDigest: null,
    steps: [],
    problems: [],
    ...overrides,
  };
}

const aStep = (
  position: number,
  overrides: Partial<RunPlan['steps'][number]>,
) => ({
  position,
  label: `Step ${position + 1}`,
  source: 'user' as const,
  command: 'true',
  timeoutSeconds: 1800,
  executable: 'true',
  found: '/bin/true',
  ...overrides,
});

describe('describeRunPlan', () => {
  it("says what each step's executable is in the image, whatever the check could tell", () => {
    const plan = aPlan({
      ok: false,
      imageDigest: 'registry.example.com/shop@sha256:0123',
      steps: [
        aStep(0, { label: 'Migrate', executable: 'python', found: '/bin/py' }),
        aStep(1, { label: 'Check', executable: './check.sh', found: false }),
        aStep(2, { label: 'Expand', executable: null, found: null }),
        aStep(3, { label: 'Skipped', executable: 'ls', found: null }),
        aStep(4, { label: 'Say', executable: 'echo', found: 'echo' }),
        aStep(5, { label: 'Local', executable: './x', found: './x' }),
        // As shown to a caller who may not read the commands.
        aStep(6, {
          label: 'Hidden',
          command: '',
          commandHidden: true,
          executable: null,
          found: false,
        }),
      ],
      problems: ['First problem.', 'Second problem.'],
    });
    expect(describeRunPlan(plan)).toBe(
      [
        'component:default/shop on registry.example.com/shop:1.4.2 (environment production): 7 release commands',
        '  1. Migrate: python found at /bin/py',
        '  2. Check: ./check.sh missing',
        '  3. Expand: executable not known before running',
        '  4. Skipped: ls not looked up',
        '  5. Say: echo built into the shell',
        '  6. Local: ./x found at ./x',
        '  7. Hidden: its executable missing',
        `every step would run image ${IMAGE_ID} (registry.example.com/shop@sha256:0123)`,
        'problem: First problem.',
        'problem: Second problem.',
        '',
      ].join('\n'),
    );
  });

  it('leaves out the image when it was not resolved', () => {
    expect(describeRunPlan(aPlan({ imageId: null }))).toBe(
      'component:default/shop on registry.example.com/shop:1.4.2 (environment production): 0 release commands\n',
    );
  });
});

describe('runPlanVerdict', () => {
  it('passes a plan without problems and fails one with', () => {
    expect(runPlanVerdict(aPlan({ steps: [aStep(0, {})] }))).toEqual({
      exitCode: 0,
      message:
        'check of component:default/shop passed: ready to run 1 release command on registry.example.com/shop:1.4.2; nothing was started.',
    });
    expect(runPlanVerdict(aPlan({ ok: false, problems: ['a', 'b'] }))).toEqual({
      exitCode: 1,
      message:
        'check of component:default/shop failed: 2 problems would stop a run on registry.example.com/shop:1.4.2; nothing was started. The deployment must not proceed.',
    });
  });
});
