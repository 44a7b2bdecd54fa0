import { ReleaseCommandRun } from '@release-commands/backstage-plugin-release-commands-common';
import { ExitCode, Verdict } from './CliError';
import { BackendConnection, describeRequestError } from './connectToBackend';
import { followRunLog, LostContactError } from './followRunLog';
import { LogPrinter } from './LogPrinter';
import { runVerdict } from './runVerdict';

/**
 * Prints a run's log until it ends, riding out broken streams, and says
 * what it means: the run's verdict, or exit 3 when the end was not seen.
 */
export async function waitForVerdict(
  backend: BackendConnection,
  run: ReleaseCommandRun,
  options: {
    printer: LogPrinter;
    reconnectMs: number;
    /** Aborted to stop waiting at once (exit 3). */
    leave?: AbortSignal;
    /** Why this CLI cancelled the run, if it did. */
    stoppedBy?: () => string | undefined;
  },
): Promise<Verdict> {
  const { printer, leave } = options;
  const lookItUp = `look it up with "release-commands logs ${run.id}" before deploying`;
  try {
    const end = await followRunLog(backend, run.id, {
      onChunk: chunk => printer.print(chunk),
      reconnectMs: options.reconnectMs,
      signal: leave,
      onBroken: (error: unknown) =>
        printer.note(
          `the log stream of run ${run.id} broke (${describeRequestError(
            error,
          )}); reconnecting`,
        ),
    });
    return runVerdict(run, end, options.stoppedBy?.());
  } catch (error) {
    if (leave?.aborted) {
      return {
        exitCode: ExitCode.unknown,
        message: `stopped waiting for run ${run.id} (${
          (leave.reason as Error).message
        }); it may still be running: ${lookItUp}.`,
      };
    }
    if (error instanceof LostContactError) {
      return {
        exitCode: ExitCode.unknown,
        message: `${error.message}: the outcome of run ${run.id} is unknown; ${lookItUp}.`,
      };
    }
    return {
      exitCode: ExitCode.unknown,
      message: `could not follow run ${run.id} (${describeRequestError(
        error,
      )}): its outcome is unknown; ${lookItUp}.`,
    };
  }
}
