import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_URL, BACKEND_URL } from './releaseCommandsTab';

// Runs from source only: this package is never built.
// eslint-disable-next-line no-restricted-syntax
export const ROOT = path.resolve(__dirname, '../../..');

/** The first frontend compile takes minutes on a 2-CPU machine. */
const START_TIMEOUT_MS = 8 * 60_000;
const STOP_GRACE_MS = 20_000;

/** The portal as `bash scripts/start.sh` runs it: the app's dev server and the backend. */
export type Portal = {
  /** A static service token the backend accepts, for checking what the UI did. */
  token: string;
  /** Resolves when the app, the backend and the catalog's demo entities answer. */
  ready(): Promise<void>;
  /** Calls a backend API (`/api/...`) with the service token. */
  api<T>(apiPath: string, init?: RequestInit): Promise<T>;
  /** Stops every process the start script started. */
  stop(): Promise<void>;
};

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise(resolve => {
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Starts the portal the README's way, `bash scripts/start.sh`, in a process
 * group of its own so that stopping it stops the dev server and the backend
 * too. One config file is added to the repository's: a database folder of
 * its own, fresh for each suite (the developer's `.data/` is left alone),
 * and a static token for the API.
 */
export function startPortal(options: {
  logFile: string;
  /** Entities the catalog must have read before the portal counts as ready. */
  entities: string[];
}): Portal {
  const token = randomBytes(24).toString('base64url');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-e2e-'));
  const configFile = path.join(dataDir, 'app-config.e2e.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      backend: {
        database: {
          client: 'better-sqlite3',
          connection: { directory: path.join(dataDir, 'sqlite') },
        },
        auth: {
          externalAccess: [
            { type: 'static', options: { token, subject: 'e2e-suite' } },
          ],
        },
      },
    }),
  );

  // A shell of a person running the README's command, not Jest's settings.
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name === 'NODE_ENV' || name.startsWith('JEST_')) delete env[name];
  }

  let child: ChildProcess | undefined;
  const log = fs.createWriteStream(options.logFile);
  const stopGroup = () => {
    if (child?.pid && groupAlive(child.pid))
      process.kill(-child.pid, 'SIGKILL');
  };
  // Jest may be interrupted; the portal must not outlive it.
  process.once('exit', stopGroup);

  async function ready() {
    for (const port of [3000, 7007]) {
      if (!(await portIsFree(port))) {
        throw new Error(
          `Port ${port} is in use: stop the portal that runs there (bash scripts/start.sh) before the end-to-end suite`,
        );
      }
    }
    child = spawn(
      'bash',
      [
        path.join(ROOT, 'scripts/start.sh'),
        '--config',
        path.join(ROOT, 'app-config.yaml'),
        '--config',
        configFile,
      ],
      { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });

    const until = Date.now() + START_TIMEOUT_MS;
    const waitFor = async (what: string, check: () => Promise<boolean>) => {
      for (;;) {
        if (child!.exitCode !== null || child!.signalCode !== null) {
          throw new Error(
            `bash scripts/start.sh exited (${
              child!.exitCode ?? child!.signalCode
            }) before ${what} answered; see ${options.logFile}`,
          );
        }
        if (await check().catch(() => false)) return;
        if (Date.now() > until) {
          throw new Error(
            `${what} did not answer within ${
              START_TIMEOUT_MS / 60_000
            } minutes; see ${options.logFile}`,
          );
        }
        await sleep(1000);
      }
    };
    const answers = (url: string, init?: RequestInit) =>
      fetch(url, { ...init, signal: AbortSignal.timeout(10_000) }).then(
        res => res.ok,
      );

    await waitFor('the backend', () =>
      answers(`${BACKEND_URL}/api/release-commands/health`),
    );
    for (const name of options.entities) {
      await waitFor(`the catalog's ${name}`, () =>
        answers(
          `${BACKEND_URL}/api/catalog/entities/by-name/component/default/${name}`,
          { headers: { Authorization: `Bearer ${token}` } },
        ),
      );
    }
    // The dev server answers once the app is compiled.
    await waitFor('the app', () => answers(APP_URL));
  }

  async function api<T>(apiPath: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(`${BACKEND_URL}${apiPath}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(init.body ? { 'Content-Type': 'application/json' } : {}),
      },
    });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(
        `${init.method ?? 'GET'} ${apiPath}: ${res.status} ${text}`,
      );
    }
    return JSON.parse(text);
  }

  async function stop() {
    const pid = child?.pid;
    if (pid && groupAlive(pid)) {
      process.kill(-pid, 'SIGTERM');
      const until = Date.now() + STOP_GRACE_MS;
      while (groupAlive(pid) && Date.now() < until) await sleep(250);
      stopGroup();
    }
    process.removeListener('exit', stopGroup);
    log.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  return { token, ready, api, stop };
}
