import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findRepositoryRoot } from './findRepositoryRoot';
import { freePort } from './freePort';
import {
  createTestCatalog,
  RegisterComponentsOptions,
  TEST_CATALOG_HEADER,
} from './testCatalog';

/** The portal's backend running as a real process, as the README starts it. */
export type BackendProcess = {
  /** `http://127.0.0.1:PORT`. */
  baseUrl: string;
  /** A static service token the backend accepts (`backend.auth.externalAccess`). */
  token: string;
  /** The backend's node process (inside the wrapper, if there is one). */
  pid(): number;
  /** Calls the release-commands API with the service token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /**
   * The YAML file of test entities that the backend's catalog reads (its only
   * `catalog.locations` entry); `registerComponents` writes it.
   */
  catalogFile: string;
  /**
   * Puts Components of these names (namespace `default`) into the backend's
   * real catalog and resolves once the catalog serves every one of them, or
   * rejects naming those it did not within the timeout. Names already
   * registered cost nothing; pass a suite's names in one call where it knows
   * them, as each call waits about a second for the catalog.
   */
  registerComponents(
    names: Iterable<string>,
    options?: RegisterComponentsOptions,
  ): Promise<void>;
  /** Everything the process printed. */
  output(): string;
  /** Kills the process with a signal and waits for it to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same configuration and data. */
  restart(): Promise<void>;
  /** Stops it gracefully (SIGTERM), if it is running. */
  stop(): Promise<void>;
};

export type BackendProcessOptions = {
  /** `sqlite` keeps its files in a temporary folder that survives restarts. */
  database: 'sqlite' | 'postgres';
  /** Merged over the test defaults (quick heartbeats, no network in containers). */
  releaseCommands?: Record<string, unknown>;
  /**
   * A command that runs the backend, e.g. `['unshare', '--pid', '--fork',
   * '--mount-proc']`; signals then go to the backend's node process itself.
   */
  wrapper?: string[];
  /**
   * For PostgreSQL: the database name prefix, so that several processes
   * share one set of databases. A fresh one otherwise.
   */
  databasePrefix?: string;
};

// Test processes run inside the repository (from a package or its root).
const ROOT = findRepositoryRoot();

function databaseConfig(
  kind: 'sqlite' | 'postgres',
  dataDir: string,
  prefix: string | undefined,
) {
  if (kind === 'sqlite') {
    return {
      client: 'better-sqlite3',
      connection: { directory: path.join(dataDir, 'sqlite') },
    };
  }
  const connection =
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!connection) {
    throw new Error(
      'PostgreSQL is required: set BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING (the test command starts a throwaway server)',
    );
  }
  // A prefix of its own, so each process set-up gets fresh databases.
  return {
    client: 'pg',
    connection,
    prefix: prefix ?? `rc_${randomBytes(4).toString('hex')}_`,
  };
}

/**
 * Starts `packages/backend` (the portal's backend with every plugin) as a
 * child process on a free port, with a static token for the API, and waits
 * until the release-commands plugin answers.
 */
export async function startBackendProcess(
  options: BackendProcessOptions,
): Promise<BackendProcess> {
  const port = await freePort();
  const token = randomBytes(24).toString('base64url');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-backend-'));
  const baseUrl = `http://127.0.0.1:${port}`;
  // Backends on one set of databases share the catalog's too, and with it
  // the catalog's config locations: each replaces them with its own list at
  // start, which would drop the other's entities unless the lists match. So
  // they share one file, named after their prefix.
  const catalogFile =
    options.database === 'postgres' && options.databasePrefix
      ? path.join(os.tmpdir(), `rc-catalog-${options.databasePrefix}.yaml`)
      : path.join(dataDir, 'catalog-entities.yaml');
  const config = {
    backend: {
      baseUrl,
      listen: { port, host: '127.0.0.1' },
      database: databaseConfig(
        options.database,
        dataDir,
        options.databasePrefix,
      ),
      auth: {
        externalAccess: [
          { type: 'static', options: { token, subject: 'test-pipeline' } },
        ],
      },
    },
    catalog: {
      // Not the examples: only what the tests register (see testCatalog.ts).
      locations: [{ type: 'file', target: catalogFile }],
      // A registered entity is served once stitched: at most 0.1 s after its
      // processing rather than the default 1 s.
      stitchingStrategy: { pollingInterval: { milliseconds: 100 } },
    },
    releaseCommands: {
      // The images the tests build.
      images: { allow: [{ repositoryPrefix: 'release-commands-test/' }] },
      docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
      runs: {
        heartbeatIntervalSeconds: 0.5,
        staleAfterSeconds: 3,
        recoveryIntervalSeconds: 1,
      },
      ...options.releaseCommands,
    },
  };
  const configFile = path.join(dataDir, 'app-config.test.json');
  if (!fs.existsSync(catalogFile)) {
    fs.writeFileSync(catalogFile, TEST_CATALOG_HEADER);
  }
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<void> = Promise.resolve();

  async function launch() {
    output += `--- starting backend on ${baseUrl}\n`;
    const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
    child = spawn(
      command,
      [
        ...prefix,
        '--require',
        require.resolve('@backstage/cli/config/nodeTransform.cjs'),
        path.join(ROOT, 'packages/backend/src/index.ts'),
        '--config',
        path.join(ROOT, 'app-config.yaml'),
        '--config',
        configFile,
      ],
      {
        cwd: path.join(ROOT, 'packages/backend'),
        env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const current = child;
    current.stdout!.on('data', d => (output += d));
    current.stderr!.on('data', d => (output += d));
    exited = new Promise(resolve => current.once('exit', () => resolve()));
    const until = Date.now() + 120_000;
    for (;;) {
      if (current.exitCode !== null || current.signalCode !== null) {
        throw new Error(`The backend exited while starting:\n${output}`);
      }
      try {
        const res = await fetch(`${baseUrl}/api/release-commands/health`);
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > until) {
        throw new Error(`The backend did not start in 120 s:\n${output}`);
      }
      await new Promise(resolve => setTimeout(resolve, 250));
    }
  }

  /** The node process: the child, or its first node descendant. */
  function nodePid(): number {
    let pid = child!.pid!;
    while (options.wrapper) {
      const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'node' || comm.startsWith('node-')) break;
      const [next] = fs
        .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .trim()
        .split(/\s+/);
      if (!next) break;
      pid = Number(next);
    }
    return pid;
  }

  async function kill(signal: NodeJS.Signals) {
    if (child && child.exitCode === null && child.signalCode === null) {
      process.kill(nodePid(), signal);
      await exited;
    }
  }

  await launch();
  const catalog = createTestCatalog({ baseUrl, token, file: catalogFile });
  return {
    baseUrl,
    token,
    pid: nodePid,
    api: (apiPath, init = {}) =>
      fetch(`${baseUrl}/api/release-commands${apiPath}`, {
        ...init,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(init.body ? { 'Content-Type': 'application/json' } : {}),
          ...(init.headers as Record<string, string>),
        },
      }),
    catalogFile,
    registerComponents: catalog.registerComponents,
    output: () => output,
    kill,
    restart: launch,
    stop: () => kill('SIGTERM'),
  };
}
