import { runIdSchema } from '@release-commands/backstage-plugin-release-commands-common';
import { Command, Option } from 'commander';
import { report, usageError } from './CliError';
import { connectToBackend, requestFailure } from './connectToBackend';
import { createLogPrinter } from './LogPrinter';
import { printJson } from './output';
import { parseReconnectTimeout } from './parseRunFlags';
import { waitForVerdict } from './waitForVerdict';

type LogsFlags = {
  follow?: boolean;
  json?: boolean;
  reconnectTimeout?: string;
};

/** `release-commands logs RUN_ID [--follow]`. */
export function addLogsCommand(program: Command) {
  program
    .command('logs')
    .description(
      "Print a run's log; with --follow, stream it until the run ends and exit as run does (0 passed, 1 did not pass, 3 outcome unknown)",
    )
    .argument('<run-id>', 'the id of the run (printed by run, and in the tab)')
    .option('--follow', 'stream the log until the run ends')
    .option(
      '--json',
      'print { run, log } as JSON on stdout (with --follow, the live log goes to stderr)',
    )
    .addOption(new Option('--reconnect-timeout <duration>').hideHelp())
    .action(async (runId: string, flags: LogsFlags, command: Command) => {
      const id = runIdSchema.safeParse(runId);
      if (!id.success) {
        throw usageError(
          `RUN_ID ${id.error.issues[0].message}, got "${runId}"`,
        );
      }
      const reconnectMs = parseReconnectTimeout(flags.reconnectTimeout);
      const backend = connectToBackend(command.optsWithGlobals());
      const run = await backend.client.getRun(id.data).catch(error => {
        throw requestFailure(error, backend, `read run ${id.data}`);
      });

      if (flags.follow) {
        const printer = createLogPrinter(run, flags);
        const verdict = await waitForVerdict(backend, run, {
          printer,
          reconnectMs,
        }).finally(() => printer.close());
        if (flags.json) {
          printJson({
            run: await backend.client.getRun(run.id).catch(() => run),
            log: await backend.client.getLogText(run.id).catch(() => null),
          });
        }
        report(verdict);
        return;
      }

      const log = await backend.client.getLogText(run.id).catch(error => {
        throw requestFailure(error, backend, `read the log of run ${run.id}`);
      });
      if (flags.json) {
        printJson({ run, log });
      } else {
        process.stdout.write(log);
      }
    });
}
