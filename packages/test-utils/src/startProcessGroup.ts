import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A command started in a process group of its own, with its output in a file. */
export type ProcessGroup = {
  /** The group's id (the id of the process that was started). */
  pid: number;
  /** How the process that was started ended, or undefined while it runs. */
  exitDescription(): string | undefined;
  /**
   * Polls `check` every second until it answers true. Fails when the
   * process ends first or the time is up, naming `what` and the log file.
   */
  waitFor(
    what: string,
    check: () => Promise<boolean>,
    options: { until: number },
  ): Promise<void>;
  /** SIGTERM to the whole group, SIGKILL to whatever is left after the grace period. */
  stop(): Promise<void>;
};

export type ProcessGroupOptions = {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where stdout and stderr go (truncated first). */
  logFile: string;
  /** Between SIGTERM and SIGKILL; 20 s unless given. */
  stopGraceMs?: number;
};

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Starts a command (a dev server, `yarn start`, a start script) so that
 * stopping it stops everything it started, also when Jest is interrupted.
 */
export function startProcessGroup(
  command: string,
  args: string[],
  options: ProcessGroupOptions,
): ProcessGroup {
  const log = fs.createWriteStream(options.logFile);
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const pid = child.pid!;
  const killGroup = () => {
    if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
  };
  // Jest may be interrupted; the group must not outlive it.
  process.once('exit', killGroup);

  const exitDescription = () => {
    if (child.exitCode !== null) return `exit code ${child.exitCode}`;
    if (child.signalCode !== null) return `signal ${child.signalCode}`;
    return undefined;
  };

  return {
    pid,
    exitDescription,
    async waitFor(what, check, { until }) {
      const name = [command, ...args].join(' ');
      for (;;) {
        const ended = exitDescription();
        if (ended) {
          throw new Error(
            `${name} ended (${ended}) while waiting for ${what}; see ${options.logFile}`,
          );
        }
        if (await check().catch(() => false)) return;
        if (Date.now() > until) {
          throw new Error(
            `Timed out waiting for ${what} from ${name}; see ${options.logFile}`,
          );
        }
        await sleep(1000);
      }
    },
    async stop() {
      if (groupAlive(pid)) {
        process.kill(-pid, 'SIGTERM');
        const until = Date.now() + (options.stopGraceMs ?? 20_000);
        while (groupAlive(pid) && Date.now() < until) await sleep(250);
        killGroup();
      }
      process.removeListener('exit', killGroup);
      await new Promise(resolve => log.end(resolve));
    },
  };
}
