import { InputError } from '@backstage/errors';
import { describeZodError } from '@release-commands/backstage-plugin-release-commands-common';

type SchemaError = Parameters<typeof describeZodError>[0];

/** One of the shared schemas of the common package, whatever zod it was built with. */
type SharedSchema<T> = {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: SchemaError };
};

/**
 * Validates one action input with the schema the API uses for it. The
 * scaffolder checks its JSON schema before a step runs, but only for types;
 * the rules (entity ref form, label length, image grammar, ...) live in the
 * shared schemas, so a refusal reads the same here as from the API, e.g.
 * `commands.1.label must not be empty`, and is raised before anything is written.
 */
export function parseActionInput<T>(
  schema: SharedSchema<T>,
  value: unknown,
  field: string,
): T {
  const result = schema.safeParse(value);
  if (result.success) {
    return result.data;
  }
  // describeZodError names fields by issue path; put the input's own name first.
  const issues = result.error.issues.map(issue => ({
    ...issue,
    path: [field, ...issue.path],
  }));
  throw new InputError(describeZodError({ issues } as SchemaError));
}

/** Plain objects only: refuses arrays, null and unknown keys. */
export function parseActionObject(
  value: unknown,
  field: string,
  keys: readonly string[],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${field} must be an object`);
  }
  const unknown = Object.keys(value).filter(key => !keys.includes(key));
  if (unknown.length > 0) {
    throw new InputError(
      `${field}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown
        .map(k => `"${k}"`)
        .join(', ')} (expected ${keys.join(', ')})`,
    );
  }
  return value as Record<string, unknown>;
}
