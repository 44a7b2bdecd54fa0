import { Command } from 'commander';
import { RELEASE_COMMANDS_PLUGIN_ID } from '@release-commands/backstage-plugin-release-commands-common';
import { ExitCode } from './CliError';
import { DEFAULT_BACKEND_URL } from './connectToBackend';
import { addCommandsCommand } from './commandsCommand';
import { addHealthCommand } from './healthCommand';
import { addLogsCommand } from './logsCommand';
import { addRunCommand } from './runCommand';
import { version } from '../package.json';

/** The command tree; `index.ts` runs it against `process.argv`. */
export function createProgram(): Command {
  const program = new Command('release-commands')
    .description(
      `Run and read release commands through the ${RELEASE_COMMANDS_PLUGIN_ID} backend of a Backstage portal. ` +
        'The token comes from RELEASE_COMMANDS_TOKEN.',
    )
    .version(version)
    .option(
      '--url <url>',
      `the backend's base URL (default: $RELEASE_COMMANDS_URL, else ${DEFAULT_BACKEND_URL})`,
    )
    .configureOutput({
      outputError: (message, write) =>
        write(`release-commands: ${message.replace(/^error: /, '')}`),
    })
    // Settings above are inherited by the subcommands added below.
    .exitOverride(error => {
      process.exit(error.exitCode === 0 ? 0 : ExitCode.usage);
    });

  addRunCommand(program);
  addLogsCommand(program);
  addCommandsCommand(program);
  addHealthCommand(program);
  return program;
}
