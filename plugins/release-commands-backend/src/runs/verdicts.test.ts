import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';
import { RunStep } from '@release-commands/backstage-plugin-release-commands-common';
import {
  closingLine,
  judgeStep,
  passedVerdict,
  recordedVerdict,
  StepEnd,
  stoppedVerdict,
} from './verdicts';

const step: RunStep = {
  position: 1,
  label: 'Security checks',
  source: 'user',
  command: './manage.sh check-security',
  timeoutSeconds: 90,
  status: 'running',
  exitCode: null,
  oomKilled: false,
  startedAt: null,
  finishedAt: null,
};

function end(overrides: Partial<StepEnd>): StepEnd {
  return { step, total: 3, tookMs: 800, timedOut: false, ...overrides };
}

const exited = (exitCode: number, oomKilled = false) => ({
  result: { exitCode, oomKilled, workloadId: 'c1' },
});

describe('judgeStep', () => {
  it('passes a step that exited 0', () => {
    expect(judgeStep(end(exited(0)))).toEqual({
      outcome: { status: 'succeeded', exitCode: 0, oomKilled: false },
      line: '[2/3] Security checks passed (exit 0, 0.8s)',
    });
  });

  it('fails a step with its exit code, naming a signal it did not send', () => {
    expect(judgeStep(end(exited(1)))).toMatchObject({
      outcome: { status: 'failed', exitCode: 1 },
      line: '[2/3] Security checks failed (exit 1, 0.8s)',
      verdict: {
        status: 'failed',
        reason: '"Security checks" exited with code 1.',
      },
    });
    expect(judgeStep(end(exited(137))).verdict?.reason).toBe(
      '"Security checks" was killed by SIGKILL (exit code 137); this run did not stop it, so the engine, the host or the command itself did.',
    );
  });

  it('says when the kernel killed a step for its memory', () => {
    expect(judgeStep(end(exited(137, true)))).toMatchObject({
      outcome: { status: 'failed', exitCode: 137, oomKilled: true },
      line: '[2/3] Security checks failed: out of memory (exit 137, killed by the kernel, 0.8s)',
    });
  });

  it('times a step out whatever its exit code', () => {
    expect(judgeStep(end({ ...exited(143), timedOut: true }))).toMatchObject({
      outcome: { status: 'timed_out', exitCode: 143 },
      line: '[2/3] Security checks timed out after 1m 30s and was stopped (exit 143, 0.8s)',
      verdict: {
        status: 'timed_out',
        reason: '"Security checks" timed out after 1m 30s and was stopped.',
      },
    });
  });

  it('puts a stop from outside before the timeout', () => {
    expect(
      judgeStep(
        end({
          ...exited(143),
          timedOut: true,
          stopped: { kind: 'cancel', actor: 'user:default/ada' },
        }),
      ),
    ).toMatchObject({
      outcome: { status: 'cancelled' },
      line: '[2/3] Security checks cancelled (exit 143, 0.8s)',
      verdict: {
        reason:
          'Cancelled by user:default/ada while "Security checks" was running.',
      },
    });
  });

  it('tells an engine failure from a command that could not start', () => {
    expect(
      judgeStep(
        end({
          failure: new ExecutorError(
            'Could not start ./x: no such file',
            'command',
          ),
        }),
      ).verdict?.reason,
    ).toBe(
      '"Security checks" could not start: Could not start ./x: no such file.',
    );
    expect(
      judgeStep(
        end({
          failure: new ExecutorError('The engine is unreachable', 'engine'),
        }),
      ),
    ).toMatchObject({
      outcome: { status: 'failed', exitCode: null },
      line: '[2/3] Security checks failed (0.8s)',
      verdict: {
        reason:
          'The engine failed while "Security checks" was running: The engine is unreachable. The command may have been partly applied.',
      },
    });
  });
});

describe('closing lines', () => {
  it('end a run that did not pass with its reason and a stop sign', () => {
    expect(closingLine(passedVerdict(2, 4200))).toBe(
      'Release commands passed: 2 commands succeeded in 4.2s. The deployment may proceed.',
    );
    expect(
      closingLine(stoppedVerdict({ kind: 'shutdown' }, undefined)),
    ).toMatch(
      /^Release commands interrupted: The backend shut down before the next command started; it was not retried/,
    );
    expect(
      closingLine(
        recordedVerdict('cancelled', 'Cancelled by ci before any command ran.'),
      ),
    ).toBe(
      'Release commands cancelled: Cancelled by ci before any command ran. The deployment must not proceed.',
    );
  });
});
