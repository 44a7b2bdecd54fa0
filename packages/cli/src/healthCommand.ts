import { Command } from 'commander';
import { report, ExitCode } from './CliError';
import { requestFailure, resolveBackendUrl } from './connectToBackend';

/** `release-commands health`: does the backend answer (no token needed)? */
export function addHealthCommand(program: Command) {
  program
    .command('health')
    .description('Check that the backend answers (needs no token)')
    .action(async (_flags: unknown, command: Command) => {
      const url = resolveBackendUrl(command.optsWithGlobals().url);
      const res = await fetch(`${url}/api/release-commands/health`).catch(
        error => {
          throw requestFailure(error, { url }, 'check its health');
        },
      );
      if (!res.ok) {
        report({
          exitCode: ExitCode.usage,
          message: `${url} answered ${res.status} ${res.statusText}: is this a Backstage backend with the release-commands plugin?`,
        });
        return;
      }
      process.stdout.write(`${url}: ${(await res.json()).status}\n`);
    });
}
