import {
  CommandSettings,
  commandTextSchema,
  labelSchema,
  timeoutSecondsSchema,
} from '@release-commands/backstage-plugin-release-commands-common';
import { firstIssue } from '../../lib/firstIssue';

/** What the dialog's fields hold: the timeout is typed text until parsed. */
export type CommandFormValues = {
  label: string;
  command: string;
  timeout: string;
  enabled: boolean;
};

export type CommandFormErrors = Partial<
  Record<'label' | 'command' | 'timeout', string>
>;

/**
 * Checks the fields with the same schemas the backend uses, so a message
 * shown here is the one the server would give, said before sending.
 */
export function validateCommandForm(values: CommandFormValues): {
  errors: CommandFormErrors;
  settings?: CommandSettings;
} {
  const timeoutText = values.timeout.trim();
  let timeoutSeconds: number | null = null;
  let timeoutError: string | undefined;
  if (timeoutText !== '') {
    if (!/^\d+$/.test(timeoutText)) {
      timeoutError = 'Timeout must be a whole number of seconds';
    } else {
      timeoutSeconds = Number(timeoutText);
      timeoutError = firstIssue(
        'Timeout',
        timeoutSecondsSchema.safeParse(timeoutSeconds),
      );
    }
  }
  const errors: CommandFormErrors = {
    label: firstIssue('Label', labelSchema.safeParse(values.label)),
    command: firstIssue('Command', commandTextSchema.safeParse(values.command)),
    timeout: timeoutError,
  };
  if (errors.label || errors.command || errors.timeout) {
    return { errors };
  }
  return {
    errors: {},
    settings: {
      label: values.label.trim(),
      command: values.command,
      enabled: values.enabled,
      timeoutSeconds,
    },
  };
}
