import {
  CreateRunRequest,
  describeZodError,
  environmentNameSchema,
  imageReferenceSchema,
  runEnvSchema,
} from '@release-commands/backstage-plugin-release-commands-common';
import { firstIssue } from '../../lib/firstIssue';

export type RunFormValues = {
  image: string;
  environment: string;
  /** `NAME=value`, one a line. */
  variables: string;
};

export type RunFormErrors = Partial<Record<keyof RunFormValues, string>>;

/** `NAME=value` lines into a record; blank lines are ignored. */
function parseVariables(text: string): {
  env?: Record<string, string>;
  error?: string;
} {
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      return { error: `Line ${i + 1} must look like NAME=value` };
    }
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  const parsed = runEnvSchema.safeParse(env);
  if (!parsed.success) {
    return { error: `Variable ${describeZodError(parsed.error)}` };
  }
  return { env };
}

/**
 * Checks the run form with the backend's own schemas, so a bad image
 * reference is caught before anything is sent.
 */
export function parseRunForm(values: RunFormValues): {
  errors: RunFormErrors;
  request?: CreateRunRequest;
} {
  const image = values.image.trim();
  const environment = values.environment.trim();
  const errors: RunFormErrors = {};

  errors.image = firstIssue('Image', imageReferenceSchema.safeParse(image));
  if (environment !== '') {
    errors.environment = firstIssue(
      'Environment',
      environmentNameSchema.safeParse(environment),
    );
  }
  const variables = parseVariables(values.variables);
  if (variables.error) errors.variables = variables.error;

  if (errors.image || errors.environment || errors.variables) {
    return { errors };
  }
  const env = variables.env ?? {};
  return {
    errors,
    request: {
      image,
      ...(environment ? { environment } : {}),
      ...(Object.keys(env).length > 0 ? { env } : {}),
    },
  };
}
