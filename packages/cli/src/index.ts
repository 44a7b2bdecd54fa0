/**
 * The `release-commands` command line, for deploy pipelines.
 *
 * @packageDocumentation
 */
import { describeError } from '@release-commands/backstage-plugin-release-commands-common';
import { CliError, ExitCode, report } from './CliError';
import { createProgram } from './createProgram';

/** Exits once stdout has taken everything, so piped output is never cut. */
function exit() {
  process.stdout.write('', () => process.exit());
}

createProgram()
  .parseAsync(process.argv)
  .then(exit, error => {
    report(
      error instanceof CliError
        ? error
        : {
            exitCode: ExitCode.unknown,
            message: `unexpected error: ${describeError(error)}`,
          },
    );
    exit();
  });
