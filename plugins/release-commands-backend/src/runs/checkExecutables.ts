import { commandArgv } from '@release-commands/backstage-plugin-release-commands-common';
import {
  ReleaseCommandExecutor,
  StepWorkloadLabels,
} from '@release-commands/backstage-plugin-release-commands-node';

/** Words that start shell syntax rather than name a program. */
const SHELL_SYNTAX = new Set([
  '!',
  '{',
  '(',
  'if',
  'for',
  'while',
  'until',
  'case',
  'function',
]);

/** How long a lookup of executables may take. */
export const LOOKUP_TIMEOUT_MS = 60_000;

/** Most bytes of the lookup's output kept: one short line per executable. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * The program a command starts: an exec-form argv's first element, or the
 * first word of a shell command after any `NAME=value` assignments. Null
 * when that cannot be told before the shell runs: a variable, a
 * substitution, or a compound command.
 */
export function executableOf(command: string): string | null {
  const argv = commandArgv(command);
  const shellForm =
    argv.length === 3 &&
    argv[0] === '/bin/sh' &&
    argv[1] === '-c' &&
    argv[2] === command;
  if (!shellForm) return argv[0];
  const words = command.trim().split(/\s+/);
  const word = words.find(w => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (!word) return null;
  // Up to the first operator: `migrate;` and `migrate&&` start `migrate`.
  const name = word.split(/[;&|<>()]/)[0];
  if (!name || SHELL_SYNTAX.has(name) || /[$`\\*?[\]{}~]/.test(name)) {
    return null;
  }
  const quoted = /^(['"])(.*)\1$/.exec(name);
  if (quoted) return quoted[2] || null;
  return /['"]/.test(name) ? null : name;
}

/** What the image has of each executable: its path, or false when missing. */
export type ExecutableLookup =
  | { kind: 'looked-up'; found: Map<string, string | false> }
  | { kind: 'failed'; reason: string };

/**
 * Looks the executables up in the image, as a step would run them: in one
 * throwaway workload of the executor (its user, working directory, network
 * and limits), with the run's variables, `command -v` for each. Starts no
 * command of the run.
 */
export async function lookUpExecutables(options: {
  executor: ReleaseCommandExecutor;
  image: string;
  executables: string[];
  env: Record<string, string>;
  environment: string;
  labels: StepWorkloadLabels;
  signal: AbortSignal;
}): Promise<ExecutableLookup> {
  const { executables } = options;
  if (executables.length === 0) {
    return { kind: 'looked-up', found: new Map() };
  }
  const chunks: Buffer[] = [];
  let kept = 0;
  try {
    const result = await options.executor.runStep({
      image: options.image,
      argv: [
        '/bin/sh',
        '-c',
        'for c do if p=$(command -v "$c"); then printf "found\\t%s\\t%s\\n" "$c" "$p"; else printf "missing\\t%s\\n" "$c"; fi; done',
        'release-commands-check',
        ...executables,
      ],
      env: options.env,
      environment: options.environment,
      labels: options.labels,
      tty: false,
      onOutput: (stream, chunk) => {
        if (stream !== 'stdout' || kept >= MAX_OUTPUT_BYTES) return;
        chunks.push(chunk);
        kept += chunk.length;
      },
      signal: options.signal,
    });
    if (result.exitCode !== 0 || result.oomKilled) {
      return {
        kind: 'failed',
        reason: `the lookup with /bin/sh and command -v ended with ${
          result.oomKilled ? 'out of memory' : `exit code ${result.exitCode}`
        }`,
      };
    }
  } catch (error) {
    return {
      kind: 'failed',
      reason: options.signal.aborted
        ? 'the lookup took too long and was stopped'
        : String((error as Error).message ?? error),
    };
  }
  const found = new Map<string, string | false>();
  for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
    const [kind, name, path] = line.split('\t');
    if (kind === 'found' && name !== undefined) found.set(name, path ?? name);
    if (kind === 'missing' && name !== undefined) found.set(name, false);
  }
  const unanswered = executables.filter(name => !found.has(name));
  if (unanswered.length > 0) {
    return {
      kind: 'failed',
      reason: `the lookup gave no answer for ${unanswered.join(', ')}`,
    };
  }
  return { kind: 'looked-up', found };
}

/** The problem of a step whose executable the image does not have. */
export function missingExecutable(options: {
  position: number;
  total: number;
  label: string;
  /** Undefined for a reader who may not see the commands. */
  executable?: string;
  image: string;
}): string {
  return `Step ${options.position + 1} of ${options.total}, "${
    options.label
  }": ${options.executable ?? 'its executable'} is not in the image ${
    options.image
  } (command -v found nothing there, as the step would run).`;
}
