import { CommandDeclaration } from '@release-commands/backstage-plugin-release-commands-common';
import { RunsStore } from '../database/RunsStore';

/** How many of the newest runs are looked through for the image's commands. */
const RUNS_LOOKED_AT = 20;

/**
 * What the image of the entity's newest run with image-declared steps
 * declared, as the tab shows it: the next deploy's image is known only
 * when it runs. Empty when none of the newest runs had any.
 */
export async function lastImageDeclaration(
  runsStore: Pick<RunsStore, 'listRuns'>,
  entityRef: string,
): Promise<CommandDeclaration[]> {
  const { runs } = await runsStore.listRuns(entityRef, {
    limit: RUNS_LOOKED_AT,
  });
  for (const run of runs) {
    const steps = run.steps.filter(step => step.source === 'image');
    if (steps.length === 0) continue;
    return [
      {
        source: 'image',
        location: run.image,
        revision: steps[0].declaredIn?.revision ?? run.imageId,
        commands: steps.map(step => ({
          label: step.label,
          command: step.command,
          timeoutSeconds: step.timeoutSeconds,
          // The image's commands are outermost: those before every other
          // step ran before the others.
          position: run.steps
            .slice(0, step.position)
            .every(earlier => earlier.source === 'image')
            ? 'before'
            : 'after',
        })),
        seenInRunId: run.id,
      },
    ];
  }
  return [];
}
