import {
  CommandDeclaration,
  DeclarationPosition,
} from '@release-commands/backstage-plugin-release-commands-common';
import { NewStep } from '../database/RunsStore';

/**
 * A usable declaration's commands as a run's steps, with where they came
 * from, each with its position for `inRunOrder`.
 */
export function declaredSteps(
  declaration: CommandDeclaration,
  defaultTimeoutSeconds: number,
): {
  source: CommandDeclaration['source'];
  items: Array<{ position: DeclarationPosition; item: NewStep }>;
} {
  return {
    source: declaration.source,
    items: declaration.commands.map(command => ({
      position: command.position,
      item: {
        label: command.label,
        command: command.command,
        timeoutSeconds: command.timeoutSeconds ?? defaultTimeoutSeconds,
        source: declaration.source,
        declaredIn: {
          location: declaration.location,
          revision: declaration.revision,
        },
      },
    })),
  };
}
