import {
  plural,
  ReleaseCommandRun,
  RunLogEnd,
  RunPlan,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ExitCode, Verdict } from './CliError';

const MUST_NOT_PROCEED = 'The deployment must not proceed.';

/**
 * The exit code of a run that ended, and its reason in one line. Only a run
 * that succeeded passes: an interrupted one may have half-applied a
 * migration, so it fails like any other.
 *
 * `stoppedBy` names why this CLI cancelled the run (`--timeout of 900s
 * reached`), when it did.
 */
export function runVerdict(
  run: Pick<ReleaseCommandRun, 'id' | 'entityRef' | 'steps'>,
  end: RunLogEnd,
  stoppedBy?: string,
): Verdict {
  const reason = end.reason?.trim() || 'the backend gave no reason.';
  const failed = (message: string): Verdict => ({
    exitCode: ExitCode.failed,
    message: `${message} ${MUST_NOT_PROCEED}`,
  });
  switch (end.status) {
    case 'succeeded':
      return {
        exitCode: ExitCode.passed,
        message:
          run.steps.length === 0
            ? `run ${run.id} passed: ${run.entityRef} has no enabled release commands.`
            : `run ${run.id} passed: ${plural(
                run.steps.length,
                'release command',
              )} of ${run.entityRef} succeeded.`,
      };
    case 'failed':
      return failed(`run ${run.id} failed: ${reason}`);
    case 'timed_out':
      return failed(`run ${run.id} timed out: ${reason}`);
    case 'cancelled':
      return failed(
        stoppedBy
          ? `${stoppedBy}: cancelled run ${run.id} (${reason.replace(
              /\.$/,
              '',
            )}).`
          : `run ${run.id} was cancelled: ${reason}`,
      );
    case 'interrupted':
      return failed(
        `run ${run.id} was interrupted and did not complete, so it has not passed: ${reason}`,
      );
    default:
      return {
        exitCode: ExitCode.unknown,
        message: `run ${run.id} ended in an unknown state (${String(
          end.status,
        )}); look it up before deploying.`,
      };
  }
}

/**
 * The exit code of a checked run (`run --dry-run`): it passes when nothing
 * would stop the run, and fails like a run otherwise.
 */
export function runPlanVerdict(
  plan: Pick<RunPlan, 'ok' | 'entityRef' | 'image' | 'steps' | 'problems'>,
): Verdict {
  if (plan.ok) {
    return {
      exitCode: ExitCode.passed,
      message: `check of ${plan.entityRef} passed: ready to run ${plural(
        plan.steps.length,
        'release command',
      )} on ${plan.image}; nothing was started.`,
    };
  }
  return {
    exitCode: ExitCode.failed,
    message: `check of ${plan.entityRef} failed: ${plural(
      plan.problems.length,
      'problem',
    )} would stop a run on ${
      plan.image
    }; nothing was started. ${MUST_NOT_PROCEED}`,
  };
}
