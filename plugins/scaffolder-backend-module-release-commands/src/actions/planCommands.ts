import { InputError } from '@backstage/errors';
import {
  commandTextSchema,
  labelSchema,
  MAX_COMMANDS_PER_ENTITY,
  ReleaseCommand,
  releaseCommandPresetIds,
  releaseCommandPresets,
  timeoutSecondsSchema,
} from '@release-commands/backstage-plugin-release-commands-common';
import { parseActionInput, parseActionObject } from './parseActionInput';

/** A command that `release-commands:add` asks for. */
export type RequestedCommand = {
  label: string;
  command: string;
  source: 'framework' | 'template';
  timeoutSeconds?: number;
};

const EXTRA_COMMAND_KEYS = ['label', 'command', 'timeoutSeconds'] as const;

/**
 * What the action's input asks for, in run order: the preset's commands
 * (source `framework`), then the extra ones (source `template`).
 */
export function requestedCommands(input: {
  preset?: unknown;
  commands?: unknown;
}): RequestedCommand[] {
  const requested: RequestedCommand[] = [];
  if (input.preset !== undefined) {
    const preset = releaseCommandPresets.find(p => p.id === input.preset);
    if (!preset) {
      throw new InputError(
        `preset must be one of ${releaseCommandPresetIds.join(
          ', ',
        )}, got ${JSON.stringify(input.preset)}`,
      );
    }
    requested.push(
      ...preset.commands.map(c => ({ ...c, source: 'framework' as const })),
    );
  }
  if (input.commands !== undefined) {
    if (!Array.isArray(input.commands)) {
      throw new InputError('commands must be a list of { label, command }');
    }
    input.commands.forEach((value, index) => {
      const field = `commands.${index}`;
      const item = parseActionObject(value, field, EXTRA_COMMAND_KEYS);
      requested.push({
        label: parseActionInput(labelSchema, item.label, `${field}.label`),
        command: parseActionInput(
          commandTextSchema,
          item.command,
          `${field}.command`,
        ),
        source: 'template',
        ...(item.timeoutSeconds === undefined
          ? {}
          : {
              timeoutSeconds: parseActionInput(
                timeoutSecondsSchema,
                item.timeoutSeconds,
                `${field}.timeoutSeconds`,
              ),
            }),
      });
    });
  }
  if (requested.length === 0) {
    throw new InputError('Nothing to add: give a preset, commands, or both');
  }
  return requested;
}

/**
 * The requested commands that the entity does not have yet. A command is
 * there when its text is, whoever added it: a preset must not put a second
 * `migrate` next to the one an owner typed, and a retried task must not put
 * a second copy of its own. Refuses, before anything is written, a list that
 * would grow past the limit.
 */
export function missingCommands(
  entityRef: string,
  existing: Pick<ReleaseCommand, 'command'>[],
  requested: RequestedCommand[],
): RequestedCommand[] {
  const present = new Set(existing.map(c => c.command.trim()));
  const missing: RequestedCommand[] = [];
  for (const command of requested) {
    const text = command.command.trim();
    if (!present.has(text)) {
      present.add(text);
      missing.push(command);
    }
  }
  if (existing.length + missing.length > MAX_COMMANDS_PER_ENTITY) {
    throw new InputError(
      `${entityRef} has ${existing.length} release commands; adding ${missing.length} would pass the limit of ${MAX_COMMANDS_PER_ENTITY}`,
    );
  }
  return missing;
}
