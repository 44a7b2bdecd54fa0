import { spawn } from 'node:child_process';
import fs from 'node:fs';

export type RunLoggedOptions = {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Appended to: the command line, then its output. */
  logFile: string;
  /** 20 minutes unless given: a cold install on a 2-CPU machine takes several. */
  timeoutMs?: number;
};

const TAIL_LINES = 40;

/**
 * Runs a command to its end with its output in a log file, and fails with
 * the end of that output when it does not exit 0 in time. Returns what it
 * printed.
 */
export async function runLogged(
  command: string,
  args: string[],
  options: RunLoggedOptions,
): Promise<string> {
  const line = [command, ...args].join(' ');
  fs.appendFileSync(options.logFile, `\n$ ${line}\n`);
  const log = fs.createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const take = (chunk: Buffer) => {
    output += chunk;
    log.write(chunk);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);

  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const outcome = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve(code === 0 ? '' : `exit ${code ?? signal}`),
    );
  }).finally(() => clearTimeout(timer));
  await new Promise(resolve => log.end(resolve));

  if (timedOut || outcome) {
    const tail = output.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
    throw new Error(
      `${line} ${
        timedOut ? `did not end within ${timeoutMs / 60_000} min` : outcome
      } (in ${options.cwd}; whole log in ${options.logFile}):\n${tail}`,
    );
  }
  return output;
}
