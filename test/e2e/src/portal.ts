import {
  ProcessGroup,
  shellEnvironment,
  startProcessGroup,
} from '@release-commands/test-utils';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { APP_URL, BACKEND_URL } from './releaseCommandsTab';

// Runs from source only: this package is never built.
// eslint-disable-next-line no-restricted-syntax
export const ROOT = path.resolve(__dirname, '../../..');

/** The first frontend compile takes minutes on a 2-CPU machine. */
const START_TIMEOUT_MS = 8 * 60_000;

/** The portal as `bash scripts/start.sh` runs it: the app's dev server and the backend. */
export type Portal = {
  /** A static service token the backend accepts, for checking what the UI did. */
  token: string;
  /**
   * The demo shop's declared commands as the portal reads them: a copy of
   * examples/demo-shop/release-commands.yaml beside a copy of
   * examples/entities.yaml, which the catalog reads instead, so a test may
   * edit it and the repository's stays as it is.
   */
  declaredFile: string;
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

/**
 * Starts the portal the README's way, `bash scripts/start.sh`, in a process
 * group of its own so that stopping it stops the dev server and the backend
 * too. One config file is added to the repository's: a database folder of
 * its own, fresh for each suite (the developer's `.data/` is left alone),
 * a static token for the API, and the demo entities read from a copy
 * (see `declaredFile`).
 */
export function startPortal(options: {
  logFile: string;
  /** Entities the catalog must have read before the portal counts as ready. */
  entities: string[];
}): Portal {
  const token = randomBytes(24).toString('base64url');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-e2e-'));
  const configFile = path.join(dataDir, 'app-config.e2e.json');
  const examples = path.join(dataDir, 'examples');
  const declaredFile = path.join(examples, 'demo-shop/release-commands.yaml');
  fs.mkdirSync(path.dirname(declaredFile), { recursive: true });
  fs.copyFileSync(
    path.join(ROOT, 'examples/entities.yaml'),
    path.join(examples, 'entities.yaml'),
  );
  fs.copyFileSync(
    path.join(ROOT, 'examples/demo-shop/release-commands.yaml'),
    declaredFile,
  );
  const location = (target: string, allow?: string[]) => ({
    type: 'file',
    target,
    ...(allow && { rules: [{ allow }] }),
  });
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      // As app-config.yaml's, with the demo entities from the copy.
      catalog: {
        locations: [
          location(path.join(examples, 'entities.yaml')),
          location(path.join(ROOT, 'examples/org.yaml'), ['User', 'Group']),
          ...['django-service', 'deploy'].map(name =>
            location(
              path.join(ROOT, `examples/templates/${name}/template.yaml`),
              ['Template'],
            ),
          ),
        ],
      },
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
  const env = shellEnvironment();

  let group: ProcessGroup | undefined;

  async function ready() {
    for (const port of [3000, 7007]) {
      if (!(await portIsFree(port))) {
        throw new Error(
          `Port ${port} is in use: stop the portal that runs there (bash scripts/start.sh) before the end-to-end suite`,
        );
      }
    }
    const started = startProcessGroup(
      'bash',
      [
        path.join(ROOT, 'scripts/start.sh'),
        '--config',
        path.join(ROOT, 'app-config.yaml'),
        '--config',
        configFile,
      ],
      { cwd: ROOT, env, logFile: options.logFile },
    );
    group = started;

    const until = Date.now() + START_TIMEOUT_MS;
    const waitFor = (what: string, check: () => Promise<boolean>) =>
      started.waitFor(`${what} to answer`, check, { until });
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
    await group?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  return { token, declaredFile, ready, api, stop };
}
