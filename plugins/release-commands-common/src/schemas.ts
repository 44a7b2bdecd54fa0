import { z } from 'zod';

/**
 * The most release commands one entity can have.
 *
 * @public
 */
export const MAX_COMMANDS_PER_ENTITY = 100;
/**
 * The longest label of a command, in characters.
 *
 * @public
 */
export const MAX_LABEL_LENGTH = 100;
/**
 * The longest command, in characters.
 *
 * @public
 */
export const MAX_COMMAND_LENGTH = 4096;
/**
 * The longest timeout a command can set: 24 hours, in seconds.
 *
 * @public
 */
export const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

// C0 controls other than tab, DEL, and C1 controls: they have no place in a
// shell command and can hide what a command really does in a log or a diff.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

const hasNoControlCharacters = (value: string) =>
  !CONTROL_CHARACTERS.test(value);

/**
 * Where a command came from; see {@link CommandSource}.
 *
 * @public
 */
export const commandSourceSchema = z.enum([
  'user',
  'template',
  'framework',
  'api',
]);

/**
 * A command's label: 1 to {@link MAX_LABEL_LENGTH} characters after
 * trimming, no control characters.
 *
 * @public
 */
export const labelSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_LABEL_LENGTH, `must be at most ${MAX_LABEL_LENGTH} characters`)
  .refine(hasNoControlCharacters, 'must not contain control characters');

/**
 * A command: 1 to {@link MAX_COMMAND_LENGTH} characters, not only white
 * space, no control characters but tab.
 *
 * @public
 */
export const commandTextSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_COMMAND_LENGTH, `must be at most ${MAX_COMMAND_LENGTH} characters`)
  .refine(value => value.trim().length > 0, 'must not be only white space')
  .refine(
    hasNoControlCharacters,
    'must not contain control characters other than tab (use && or ; to chain commands)',
  );

/**
 * A command's own timeout: whole seconds from 1 to
 * {@link MAX_TIMEOUT_SECONDS}.
 *
 * @public
 */
export const timeoutSecondsSchema = z
  .number()
  .int('must be a whole number of seconds')
  .min(1, 'must be at least 1 second')
  .max(
    MAX_TIMEOUT_SECONDS,
    `must be at most ${MAX_TIMEOUT_SECONDS} seconds (24 hours)`,
  );

/** A command as the tab's editor sends it in a whole-list write. @public */
export const commandInputSchema = z
  .object({
    id: z
      .string()
      .uuid("must be the id of one of this entity's commands")
      .optional(),
    label: labelSchema,
    command: commandTextSchema,
    enabled: z.boolean().optional(),
    timeoutSeconds: timeoutSecondsSchema.nullable().optional(),
  })
  .strict();

/** `PUT .../commands`: replace the whole list. @public */
export const replaceCommandsRequestSchema = z
  .object({
    revision: z
      .number({
        error: issue =>
          issue.input === undefined
            ? 'is required: send the revision you read'
            : 'must be a number',
      })
      .int()
      .min(0),
    commands: z
      .array(commandInputSchema)
      .max(
        MAX_COMMANDS_PER_ENTITY,
        `must hold at most ${MAX_COMMANDS_PER_ENTITY} commands (the most an entity can have)`,
      ),
  })
  .strict();

/** `POST .../commands`: append one (templates and programs). @public */
export const appendCommandRequestSchema = z
  .object({
    label: labelSchema,
    command: commandTextSchema,
    source: commandSourceSchema.optional(),
    enabled: z.boolean().optional(),
    timeoutSeconds: timeoutSecondsSchema.nullable().optional(),
  })
  .strict();

/**
 * One command in the body of `PUT .../commands`; `id` names an existing
 * command to keep it (and its history), no `id` adds one.
 *
 * @public
 */
export type CommandInput = z.infer<typeof commandInputSchema>;
/**
 * The body of `PUT .../commands`: the whole list, in run order, and the
 * revision it was read at.
 *
 * @public
 */
export type ReplaceCommandsRequest = z.infer<
  typeof replaceCommandsRequestSchema
>;
/**
 * The body of `POST .../commands`.
 *
 * @public
 */
export type AppendCommandRequest = z.infer<typeof appendCommandRequestSchema>;

// The catalog's own rules for the parts of an entity ref.
const KIND = /^[a-zA-Z][a-zA-Z0-9]*$/;
const NAME = /^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$/;
const NAMESPACE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** The `:kind/:namespace/:name` of an entity route. @public */
export const entityRefPartsSchema = z.object({
  kind: z
    .string()
    .max(63)
    .regex(KIND, 'must be a catalog kind such as component'),
  namespace: z
    .string()
    .max(63)
    .regex(NAMESPACE, 'must be a catalog namespace such as default'),
  name: z
    .string()
    .max(63)
    .regex(NAME, 'must be a catalog entity name such as my-service'),
});

/** A whole entity ref, `kind:namespace/name` (namespace required). @public */
export const entityRefSchema = z.string().transform((value, ctx) => {
  const match = /^([^:/]+):([^:/]+)\/([^:/]+)$/.exec(value);
  const parts = match
    ? entityRefPartsSchema.safeParse({
        kind: match[1],
        namespace: match[2],
        name: match[3],
      })
    : undefined;
  if (!parts?.success) {
    ctx.addIssue({
      code: 'custom',
      message: `must be an entity ref of the form kind:namespace/name, got "${value}"`,
    });
    return z.NEVER;
  }
  return toEntityRef(parts.data);
});

/**
 * The normalised form under which commands and runs are stored: lower case,
 * as the catalog compares refs case-insensitively.
 *
 * @public
 */
export function toEntityRef(parts: {
  kind: string;
  namespace: string;
  name: string;
}): string {
  return `${parts.kind}:${parts.namespace}/${parts.name}`.toLocaleLowerCase(
    'en-US',
  );
}

/**
 * One line naming each field at fault, e.g.
 * `commands.2.label must not be empty`.
 *
 * @public
 */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map(issue => {
      const field = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const where = field ? `${field}: ` : '';
        return `${where}unknown field${
          issue.keys.length > 1 ? 's' : ''
        } ${issue.keys.map(k => `"${k}"`).join(', ')}`;
      }
      return field ? `${field} ${issue.message}` : issue.message;
    })
    .join('; ');
}
