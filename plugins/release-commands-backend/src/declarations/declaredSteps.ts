import { CommandDeclaration } from '@release-commands/backstage-plugin-release-commands-common';
import { NewStep } from '../database/RunsStore';

/** A usable declaration's commands as a run's steps, with where they came from. */
export function declaredSteps(
  declaration: CommandDeclaration,
  defaultTimeoutSeconds: number,
): NewStep[] {
  return declaration.commands.map(command => ({
    label: command.label,
    command: command.command,
    timeoutSeconds: command.timeoutSeconds ?? defaultTimeoutSeconds,
    source: declaration.source,
    declaredIn: {
      location: declaration.location,
      revision: declaration.revision,
    },
  }));
}
