import Docker from 'dockerode';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';

const PID_FILE = '/run/release-commands-dockerd.pid';
const LOG_FILE = '/var/log/release-commands-dockerd.log';

async function waitUntil(check: () => Promise<boolean>, what: string) {
  const until = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}

/**
 * Restarts the local Docker engine (as root): stops `dockerd` with SIGTERM,
 * as a service manager would, and starts it again with the same arguments.
 * The new process id goes where the test command's cleanup looks for it.
 */
export async function restartDockerEngine(docker: Docker): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('Restarting the Docker engine needs root');
  }
  const pid = Number(
    execFileSync('pgrep', ['-o', '-x', 'dockerd']).toString().trim(),
  );
  const argv = fs
    .readFileSync(`/proc/${pid}/cmdline`)
    .toString()
    .split('\0')
    .filter(Boolean);
  process.kill(pid, 'SIGTERM');
  await waitUntil(
    async () => !fs.existsSync(`/proc/${pid}`),
    `dockerd ${pid} to stop`,
  );
  const log = fs.openSync(LOG_FILE, 'a');
  const child = spawn(argv[0], argv.slice(1), {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  fs.closeSync(log);
  fs.writeFileSync(PID_FILE, `${child.pid}\n`);
  await waitUntil(
    () =>
      docker.ping().then(
        () => true,
        () => false,
      ),
    'the Docker engine to answer again',
  );
}
