import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(__dirname, '../../bin/release-commands');

export type CliResult = {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stderr split into lines, without the trailing empty one. */
  stderrLines: string[];
  ms: number;
};

/** The `release-commands` bin as a real process, as a pipeline runs it. */
export type CliProcess = {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains the text. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  result: Promise<CliResult>;
};

export function spawnCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { nodeArgs?: string[] } = {},
): CliProcess {
  const inherited = { ...process.env };
  delete inherited.RELEASE_COMMANDS_URL;
  delete inherited.RELEASE_COMMANDS_TOKEN;
  const startedAt = Date.now();
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), BIN, ...args],
    {
      env: { ...inherited, ...env },
    },
  );
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    waiters.forEach(check => check());
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const result = new Promise<CliResult>(resolve =>
    child.on('close', status =>
      resolve({
        status,
        stdout,
        stderr,
        stderrLines: stderr.split('\n').filter(Boolean),
        ms: Date.now() - startedAt,
      }),
    ),
  );
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    result,
    waitForOutput: (text, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `No "${text}" in the CLI's output after ${timeoutMs} ms:\n${stdout}\n${stderr}`,
              ),
            ),
          timeoutMs,
        );
        const check = () => {
          if (stdout.includes(text)) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        check();
        void result.then(() => {
          clearTimeout(timer);
          if (!stdout.includes(text)) {
            reject(
              new Error(
                `The CLI exited before printing "${text}":\n${stdout}\n${stderr}`,
              ),
            );
          }
        });
      }),
  };
}

/** Runs the CLI to its end. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { nodeArgs?: string[] } = {},
): Promise<CliResult> {
  return spawnCli(args, env, options).result;
}
