import {
  appendCommandRequestSchema,
  entityRefSchema,
  plural,
  ReleaseCommand,
  ReleaseCommandList,
} from '@release-commands/backstage-plugin-release-commands-common';
import { Command } from 'commander';
import { usageError } from './CliError';
import { connectToBackend, requestFailure } from './connectToBackend';
import { describeFlagErrors } from './describeFlagErrors';
import { printJson } from './output';
import { parseDuration } from './parseRunFlags';

type AddFlags = {
  label: string;
  command: string;
  timeout?: string;
  disabled?: boolean;
  source?: string;
  json?: boolean;
};

/** `release-commands commands list|add ENTITY`. */
export function addCommandsCommand(program: Command) {
  const commands = program
    .command('commands')
    .description("Read or add to an entity's release commands");

  commands
    .command('list')
    .description("Print an entity's release commands in run order")
    .argument('<entity>', 'the catalog entity, kind:namespace/name')
    .option('--json', 'print the list (with its revision) as JSON')
    .action(
      async (entity: string, flags: { json?: boolean }, command: Command) => {
        const entityRef = parseEntity(entity);
        const backend = connectToBackend(command.optsWithGlobals());
        const list = await backend.client
          .getCommands(entityRef)
          .catch(error => {
            throw requestFailure(
              error,
              backend,
              `read the commands of ${entityRef}`,
            );
          });
        if (flags.json) {
          printJson(list);
        } else {
          process.stdout.write(describeList(list));
        }
      },
    );

  commands
    .command('add')
    .description(
      'Append a command to the end of the list (the same source and command twice is one command)',
    )
    .argument('<entity>', 'the catalog entity, kind:namespace/name')
    .requiredOption(
      '--label <label>',
      'what the command does, e.g. "Migrate database"',
    )
    .requiredOption(
      '--command <command>',
      'run as /bin/sh -c COMMAND in the image, e.g. "python manage.py migrate"',
    )
    .option(
      '--timeout <duration>',
      "its timeout (seconds, or 90s, 15m, 1h); default: the backend's",
    )
    .option('--disabled', 'add it switched off')
    .option(
      '--source <source>',
      'where it comes from: user, template, framework or api (default api)',
    )
    .option('--json', 'print the answer (the list and the command) as JSON')
    .action(async (entity: string, flags: AddFlags, command: Command) => {
      const entityRef = parseEntity(entity);
      const body = appendCommandRequestSchema.safeParse({
        label: flags.label,
        command: flags.command,
        source: flags.source,
        enabled: flags.disabled ? false : undefined,
        timeoutSeconds:
          flags.timeout === undefined
            ? undefined
            : parseDuration(flags.timeout, '--timeout') / 1000,
      });
      if (!body.success) {
        throw usageError(
          describeFlagErrors(body.error, {
            label: '--label',
            command: '--command',
            source: '--source',
            timeoutSeconds: '--timeout',
          }),
        );
      }
      const backend = connectToBackend(command.optsWithGlobals());
      const added = await backend.client
        .appendCommand(entityRef, body.data)
        .catch(error => {
          throw requestFailure(error, backend, `add a command to ${entityRef}`);
        });
      if (flags.json) {
        printJson(added);
        return;
      }
      const position = `command ${
        added.commands.findIndex(c => c.id === added.command.id) + 1
      } of ${added.commands.length}`;
      process.stdout.write(
        added.created
          ? `Added "${added.command.label}" to ${entityRef} as ${position} (revision ${added.revision}).\n`
          : `"${added.command.label}" is already ${position} of ${entityRef}: nothing changed.\n`,
      );
    });
}

function parseEntity(entity: string): string {
  const parsed = entityRefSchema.safeParse(entity);
  if (!parsed.success) {
    throw usageError(`ENTITY ${parsed.error.issues[0].message}`);
  }
  return parsed.data;
}

function describeList(list: ReleaseCommandList): string {
  const lines = [
    `${list.entityRef}: ${plural(
      list.commands.length,
      'release command',
    )} (revision ${list.revision}, default timeout ${
      list.defaultTimeoutSeconds
    }s)`,
    ...list.commands.map(
      (command, index) => `  ${index + 1}. ${describeCommand(command)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function describeCommand(command: ReleaseCommand): string {
  const notes = [
    command.source,
    ...(command.enabled ? [] : ['disabled']),
    ...(command.timeoutSeconds === null
      ? []
      : [`timeout ${command.timeoutSeconds}s`]),
  ];
  return `${command.label}: ${command.command}  [${notes.join(', ')}]`;
}
