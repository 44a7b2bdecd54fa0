import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcessGroup } from './startProcessGroup';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startProcessGroup', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-group-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the output, waits for a condition, and stops the children too', async () => {
    const logFile = path.join(dir, 'out.log');
    const pidFile = path.join(dir, 'child.pid');
    // A shell that starts a child of its own, as `yarn start` does.
    const group = startProcessGroup(
      'sh',
      ['-c', `echo started; sleep 300 & echo $! > ${pidFile}; wait`],
      { cwd: dir, env: process.env, logFile },
    );
    // The whole line: the shell creates the file before it writes to it,
    // and an empty one would read as pid 0 (this very process group).
    const written = () =>
      fs.existsSync(pidFile) &&
      /^\d+\n$/.test(fs.readFileSync(pidFile, 'utf8'));
    await group.waitFor('the child', async () => written(), {
      until: Date.now() + 10_000,
    });
    const child = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(child).toBeGreaterThan(1);
    expect(alive(child)).toBe(true);

    await group.stop();
    expect(alive(child)).toBe(false);
    expect(group.exitDescription()).toBe('signal SIGTERM');
    expect(fs.readFileSync(logFile, 'utf8')).toBe('started\n');
  });

  it('fails a wait when the command ends first, naming the log', async () => {
    const logFile = path.join(dir, 'out.log');
    const group = startProcessGroup('sh', ['-c', 'echo bye; exit 3'], {
      cwd: dir,
      env: process.env,
      logFile,
    });
    await expect(
      group.waitFor('the server to answer', async () => false, {
        until: Date.now() + 10_000,
      }),
    ).rejects.toThrow(
      `sh -c echo bye; exit 3 ended (exit code 3) while waiting for the server to answer; see ${logFile}`,
    );
    await group.stop();
  });
});
