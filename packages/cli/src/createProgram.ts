import { Command } from 'commander';
import { RELEASE_COMMANDS_PLUGIN_ID } from '@internal/backstage-plugin-release-commands-common';

/** Exit code for usage and configuration errors. */
export const EXIT_USAGE = 2;

/** The command tree; `index.ts` runs it against `process.argv`. */
export function createProgram(): Command {
  const program = new Command('release-commands')
    .description(
      `Talk to the ${RELEASE_COMMANDS_PLUGIN_ID} backend of a Backstage portal`,
    )
    .version('0.1.0')
    .exitOverride(error => {
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    });

  program
    .command('health')
    .description('Check that the backend answers')
    .option(
      '--url <url>',
      'backend base URL (default: $RELEASE_COMMANDS_URL or http://localhost:7007)',
    )
    .action(async (options: { url?: string }) => {
      const base =
        options.url ??
        process.env.RELEASE_COMMANDS_URL ??
        'http://localhost:7007';
      const res = await fetch(
        new URL('/api/release-commands/health', base).toString(),
      );
      if (!res.ok) {
        throw new Error(`${base} answered ${res.status} ${res.statusText}`);
      }
      process.stdout.write(`${base}: ${(await res.json()).status}\n`);
    });

  return program;
}
