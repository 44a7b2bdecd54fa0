import {
  plural,
  RunPlan,
  RunPlanStep,
} from '@release-commands/backstage-plugin-release-commands-common';

/**
 * A checked run as text for a job's log: what would run, each step's
 * executable as the image has it, the image every step would run, and the
 * problems that would stop the run, one a line.
 */
export function describeRunPlan(plan: RunPlan): string {
  const lines = [
    `${plan.entityRef} on ${plan.image} (environment ${
      plan.environment
    }): ${plural(plan.steps.length, 'release command')}`,
    ...plan.steps.map(
      step => `  ${step.position + 1}. ${step.label}: ${describeLookup(step)}`,
    ),
  ];
  if (plan.imageId) {
    lines.push(
      `every step would run image ${plan.imageId}${
        plan.imageDigest ? ` (${plan.imageDigest})` : ''
      }`,
    );
  }
  lines.push(...plan.problems.map(problem => `problem: ${problem}`));
  return `${lines.join('\n')}\n`;
}

function describeLookup(step: RunPlanStep): string {
  const { executable, found } = step;
  // Null when the caller may not read the commands, or the command starts
  // with something only the shell can expand.
  const name = executable ?? 'its executable';
  if (found === false) return `${name} missing`;
  if (found === null) {
    return executable === null
      ? 'executable not known before running'
      : `${executable} not looked up`;
  }
  // `command -v` answers a builtin (echo; busybox's applets) by its name.
  return found === executable && !found.includes('/')
    ? `${found} built into the shell`
    : `${name} found at ${found}`;
}
