import {
  CommandDeclaration,
  DeclarationPosition,
  inRunOrder,
  ReleaseCommand,
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

/**
 * A run's steps before its image is resolved: the list's enabled commands
 * with what the repository declares, in run order. A declaration with a
 * problem adds nothing (the run fails before step 1 instead).
 */
export function stepsInRunOrder(
  commands: ReleaseCommand[],
  declaration: CommandDeclaration | undefined,
  defaultTimeoutSeconds: number,
): NewStep[] {
  return inRunOrder<NewStep>(
    commands
      .filter(command => command.enabled)
      .map(command => ({
        label: command.label,
        command: command.command,
        timeoutSeconds: command.timeoutSeconds ?? defaultTimeoutSeconds,
        source: command.source,
      })),
    declaration && !declaration.problem
      ? [declaredSteps(declaration, defaultTimeoutSeconds)]
      : [],
  );
}
