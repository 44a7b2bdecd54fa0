/**
 * The exit codes a pipeline acts on. Anything but `passed` must stop a
 * deploy; `unknown` tells a person to look the run up.
 */
export const ExitCode = {
  /** Every release command passed. */
  passed: 0,
  /** A command failed or timed out, or the run was cancelled or interrupted. */
  failed: 1,
  /** Bad flags, a missing or refused token, an unreachable backend: fix the pipeline. */
  usage: 2,
  /** The run started but its outcome cannot be known (the backend was lost). */
  unknown: 3,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** How a command ends: its exit code and the one line saying why. */
export type Verdict = { exitCode: ExitCodeValue; message: string };

/** Ends the program with an exit code and one line on stderr. */
export class CliError extends Error implements Verdict {
  constructor(readonly exitCode: ExitCodeValue, message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage or configuration error (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(ExitCode.usage, message);
}

/** Prints the verdict's line on stderr and sets the exit code. */
export function report(verdict: Verdict) {
  process.stderr.write(`release-commands: ${verdict.message}\n`);
  process.exitCode = verdict.exitCode;
}
