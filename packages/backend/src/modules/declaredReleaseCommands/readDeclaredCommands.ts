import { InputError } from '@backstage/errors';
import {
  MAX_COMMANDS_PER_ENTITY,
  appendCommandRequestSchema,
  describeZodError,
} from '@release-commands/backstage-plugin-release-commands-common';
import fs from 'node:fs/promises';
import yaml from 'yaml';
import { z } from 'zod';

/**
 * A command as a file declares it: what the append route takes but the
 * source, which is always `api` for these.
 */
const declaredCommandSchema = appendCommandRequestSchema.omit({ source: true });

export type DeclaredCommand = z.infer<typeof declaredCommandSchema>;

const declaredCommandsFileSchema = z
  .object(
    {
      commands: z
        .array(declaredCommandSchema, {
          error: issue =>
            issue.input === undefined
              ? 'is required: the list of release commands'
              : 'must be a list of { label, command } entries',
        })
        .min(1, 'must list at least one command')
        .max(
          MAX_COMMANDS_PER_ENTITY,
          `must list at most ${MAX_COMMANDS_PER_ENTITY} commands (the most an entity can have)`,
        )
        .superRefine((commands, ctx) => {
          // The append route keeps one command per text, so a repeat would be
          // dropped without a word.
          commands.forEach((entry, index) => {
            const first = commands.findIndex(c => c.command === entry.command);
            if (first < index) {
              ctx.addIssue({
                code: 'custom',
                path: [index, 'command'],
                message: `repeats commands.${first}.command`,
              });
            }
          });
        }),
    },
    { error: 'must be a YAML mapping with a "commands" list' },
  )
  .strict();

/**
 * Reads and checks a file of declared release commands:
 *
 * ```yaml
 * commands:
 *   - label: Migrate database
 *     command: ./manage.sh migrate
 *     timeoutSeconds: 600 # optional, as is enabled
 * ```
 *
 * Refuses the whole file, naming the field at fault, when anything in it is
 * not what the release-commands API accepts.
 */
export async function readDeclaredCommands(
  file: string,
): Promise<DeclaredCommand[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'the file does not exist'
        : `the file cannot be read (${(error as Error).message})`,
    );
  }
  let data: unknown;
  try {
    data = yaml.parse(text);
  } catch (error) {
    throw new InputError(
      `the file is not valid YAML: ${(error as Error).message}`,
    );
  }
  const parsed = declaredCommandsFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new InputError(describeZodError(parsed.error));
  }
  return parsed.data.commands;
}
