import {
  ReleaseCommandRun,
  RunLogChunk,
} from '@release-commands/backstage-plugin-release-commands-common';
import { stepPrefix } from '../runs/verdicts';

const HIDDEN = '(command hidden)';

/** A run as a reader who may not read the entity's commands sees it. */
export function withStepCommandsHidden(
  run: ReleaseCommandRun,
): ReleaseCommandRun {
  return {
    ...run,
    steps: run.steps.map(step => ({
      ...step,
      command: '',
      commandHidden: true,
    })),
  };
}

/**
 * The log of `run` as that reader sees it: each step's heading
 * (`[1/3] Migrate: python manage.py migrate`) keeps the step's place and
 * label and loses the command. Only the plugin's own lines of a step are
 * looked at; what the command printed is the run's to show.
 */
export function hideStepCommandsInLog(
  run: ReleaseCommandRun,
): (chunk: RunLogChunk) => RunLogChunk {
  const steps = new Map(
    run.steps.map(step => {
      const heading = `${stepPrefix(step, run.steps.length)}: `;
      return [step.position, { heading, line: `${heading}${step.command}\n` }];
    }),
  );
  return chunk => {
    if (chunk.stream !== 'system' || chunk.step === null) return chunk;
    const step = steps.get(chunk.step);
    if (!step || !chunk.text.startsWith(step.heading)) return chunk;
    const hidden = `${step.heading}${HIDDEN}\n`;
    // The heading as written, unless masking changed it: then the heading
    // is all the chunk holds (it is written as a chunk of its own).
    const rest = chunk.text.startsWith(step.line)
      ? chunk.text.slice(step.line.length)
      : '';
    return { ...chunk, text: `${hidden}${rest}` };
  };
}
