import {
  describeError,
  formatDuration,
  plural,
  RunStatus,
  RunStep,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  ExecutorError,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import { StepOutcome } from '../database/RunsStore';

/** Why a run was stopped from outside its own steps. */
export type StopReason =
  | { kind: 'cancel'; actor: string }
  | { kind: 'shutdown' }
  /** Another instance ended it (it missed heartbeats). */
  | { kind: 'ended' }
  /**
   * This instance could not renew the run's lease for most of the stale
   * window, and stopped it before another instance would take it for dead.
   */
  | { kind: 'lease'; silentMs: number; lastError?: string }
  /** The run's whole-run deadline passed. */
  | { kind: 'deadline'; limitMs: number };

export type FinalStatus = Exclude<RunStatus, 'queued' | 'running'>;

/** How a run ended, for its record and its log's last line. */
export type Verdict = {
  status: FinalStatus;
  reason: string | null;
  line: string;
};

// Exit codes above 128 of a shell-less process: 128 + the signal that
// killed it.
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  9: 'SIGKILL',
  15: 'SIGTERM',
};

/** `[2/3] Security checks`: how the log names a step. */
export function stepPrefix(step: RunStep, total: number): string {
  return `[${step.position + 1}/${total}] ${step.label}`;
}

/** The last line of a run's log. */
export function closingLine(verdict: Verdict): string {
  return verdict.status === 'succeeded'
    ? verdict.line
    : `${verdict.line} ${verdict.reason} The deployment must not proceed.`;
}

export function noCommandsVerdict(entityRef: string): Verdict {
  return {
    status: 'succeeded',
    reason: null,
    line: `No release commands are configured for ${entityRef}: nothing to run. The deployment may proceed.`,
  };
}

export function passedVerdict(total: number, tookMs: number): Verdict {
  return {
    status: 'succeeded',
    reason: null,
    line: `Release commands passed: ${plural(
      total,
      'command',
    )} succeeded in ${formatDuration(tookMs)}. The deployment may proceed.`,
  };
}

export function failedVerdict(reason: string): Verdict {
  return { status: 'failed', reason, line: 'Release commands failed:' };
}

/**
 * A claimed run whose secrets this instance does not hold: they live only in
 * the memory of the instance that accepted the run.
 */
export function secretsMissingVerdict(envKeys: string[]): Verdict {
  return failedVerdict(
    `The values of ${envKeys.join(
      ', ',
    )} were not in this backend instance's memory when the run started (they are never stored), so no command ran. Run the release commands again.`,
  );
}

/** Something on the run path threw where nothing should have. */
export function unexpectedVerdict(error: unknown): Verdict {
  return failedVerdict(
    `The run failed unexpectedly in the backend: ${describeAsSentence(
      error,
    )} A command may have been partly applied; check the service, then run the release commands again.`,
  );
}

/** The image could not be made available. */
export function imageFailedVerdict(error: unknown): Verdict {
  return failedVerdict(describeAsSentence(error));
}

/**
 * A run that the store ended without its owner (a cancel before it started,
 * recovery after its owner stopped), as its record says.
 */
export function recordedVerdict(
  status: 'cancelled' | 'interrupted',
  reason: string | null,
): Verdict {
  return {
    status,
    reason,
    line:
      status === 'cancelled'
        ? 'Release commands cancelled:'
        : 'Release commands interrupted:',
  };
}

/** The verdict of a run stopped from outside, during `quotedStep` if any. */
export function stoppedVerdict(
  reason: StopReason,
  quotedStep: string | undefined,
): Verdict {
  const during = quotedStep
    ? ` while ${quotedStep} was running`
    : ' before the next command started';
  if (reason.kind === 'cancel') {
    return {
      status: 'cancelled',
      reason: `Cancelled by ${reason.actor}${during}.`,
      line: 'Release commands cancelled:',
    };
  }
  if (reason.kind === 'deadline') {
    return {
      status: 'timed_out',
      reason: `The run reached its deadline of ${formatDuration(
        reason.limitMs,
      )} (releaseCommands.runs.maxRunSeconds)${during} and was stopped.`,
      line: 'Release commands failed:',
    };
  }
  const why = stopCause(reason, during);
  return {
    status: 'interrupted',
    reason: `${why}; it was not retried because a command may have been partly applied. Check the service, then run the release commands again.`,
    line: 'Release commands interrupted:',
  };
}

/** Why a run was interrupted from outside, as a clause. */
function stopCause(
  reason: Exclude<StopReason, { kind: 'cancel' | 'deadline' }>,
  during: string,
): string {
  if (reason.kind === 'shutdown') return `The backend shut down${during}`;
  if (reason.kind === 'ended') {
    return `The run was ended by another backend instance${during}`;
  }
  const silent = formatDuration(reason.silentMs);
  return reason.lastError
    ? `This backend instance could not reach the database for ${silent}${during} (${reason.lastError.replace(
        /[.\s]+$/,
        '',
      )}), so it stopped the run before another instance would take it for dead`
    : `This backend instance could not renew its hold on the run for ${silent}${during} (it was paused or overloaded), so it stopped the run before another instance would take it for dead`;
}

/** How one step ended, as the executor and the run's own timers saw it. */
export type StepEnd = {
  step: RunStep;
  total: number;
  tookMs: number;
  /** What the executor reported, if it reported at all. */
  result?: StepResult;
  /** What the executor threw instead. */
  failure?: unknown;
  /** Why the run was stopped from outside during the step, if it was. */
  stopped?: StopReason;
  /** Whether the step's own timeout stopped it. */
  timedOut: boolean;
};

/**
 * Judges one step: what its record says, the log line that closes it, and
 * the run's verdict when it did not pass.
 */
export function judgeStep(end: StepEnd): {
  outcome: StepOutcome;
  line: string;
  verdict?: Verdict;
} {
  const { step, result } = end;
  const prefix = stepPrefix(step, end.total);
  const took = formatDuration(end.tookMs);
  const exit = result ? `exit ${result.exitCode}, ` : '';
  const quoted = `"${step.label}"`;
  if (end.stopped) {
    const verdict = stoppedVerdict(end.stopped, quoted);
    return {
      outcome: {
        status:
          verdict.status === 'cancelled' || verdict.status === 'timed_out'
            ? verdict.status
            : 'interrupted',
        exitCode: result?.exitCode ?? null,
        oomKilled: result?.oomKilled ?? false,
      },
      line: `${prefix} ${verdict.status} (${exit}${took})`,
      verdict,
    };
  }
  if (end.timedOut) {
    const limit = formatDuration(step.timeoutSeconds * 1000);
    return {
      outcome: {
        status: 'timed_out',
        exitCode: result?.exitCode ?? null,
        oomKilled: false,
      },
      line: `${prefix} timed out after ${limit} and was stopped (${exit}${took})`,
      verdict: {
        status: 'timed_out',
        reason: `${quoted} timed out after ${limit} and was stopped.`,
        line: 'Release commands failed:',
      },
    };
  }
  if (!result) {
    return {
      outcome: { status: 'failed', exitCode: null, oomKilled: false },
      line: `${prefix} failed (${took})`,
      verdict: failedVerdict(describeStepError(end.failure, quoted)),
    };
  }
  if (result.exitCode === 0 && !result.oomKilled) {
    return {
      outcome: { status: 'succeeded', exitCode: 0, oomKilled: false },
      line: `${prefix} passed (exit 0, ${took})`,
    };
  }
  if (result.oomKilled) {
    return {
      outcome: { status: 'failed', exitCode: result.exitCode, oomKilled: true },
      line: `${prefix} failed: out of memory (${exit}killed by the kernel, ${took})`,
      verdict: failedVerdict(
        `${quoted} ran out of memory and was killed (exit code ${result.exitCode}); give it more memory (releaseCommands.docker.memory) or make it use less.`,
      ),
    };
  }
  const killedBy = SIGNALS[result.exitCode - 128];
  return {
    outcome: { status: 'failed', exitCode: result.exitCode, oomKilled: false },
    line: `${prefix} failed (${exit}${took})`,
    verdict: failedVerdict(
      killedBy
        ? `${quoted} was killed by ${killedBy} (exit code ${result.exitCode}); this run did not stop it, so the engine, the host or the command itself did.`
        : `${quoted} exited with code ${result.exitCode}.`,
    ),
  };
}

function describeStepError(error: unknown, quotedStep: string): string {
  if (error instanceof ExecutorError) {
    if (error.kind === 'command') {
      return `${quotedStep} could not start: ${describeAsSentence(error)}`;
    }
    if (error.kind === 'engine') {
      return `The engine failed while ${quotedStep} was running: ${describeAsSentence(
        error,
      )} The command may have been partly applied.`;
    }
    return describeAsSentence(error);
  }
  return `${quotedStep} failed unexpectedly: ${describeAsSentence(error)}`;
}

/** What went wrong, ending as a sentence does: more sentences follow it. */
function describeAsSentence(error: unknown): string {
  const message = describeError(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
