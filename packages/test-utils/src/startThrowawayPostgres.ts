import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './freePort';

const BIN = '/usr/lib/postgresql/15/bin';

/** A PostgreSQL 15 cluster of a test's own, to stop and start at will. */
export type ThrowawayPostgres = {
  /** `postgresql://postgres@127.0.0.1:PORT`. */
  connectionString: string;
  /** Stops the server at once (`-m immediate`): clients see it vanish. */
  stop(): void;
  /** Starts it again on the same port and data. */
  start(): void;
  /** Stops it and removes its folder. */
  destroy(): void;
};

/**
 * Creates and starts a PostgreSQL 15 cluster in a folder of its own on a
 * free port, for tests that stop the database (the shared server must not
 * be). As root, the server runs as the `postgres` user, since PostgreSQL
 * refuses to run as root.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  if (!fs.existsSync(`${BIN}/pg_ctl`)) {
    throw new Error(
      `PostgreSQL 15 server binaries are required in ${BIN} (apt-get install postgresql-15)`,
    );
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-throwaway-pg-'));
  fs.chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  const run = (command: string) =>
    asRoot
      ? execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', command], {
          stdio: 'pipe',
        })
      : execFileSync('/bin/sh', ['-c', command], { stdio: 'pipe' });
  const data = path.join(dir, 'data');
  run(`${BIN}/initdb -D ${data} -U postgres --auth=trust >/dev/null`);
  const start = () =>
    run(
      `${BIN}/pg_ctl -D ${data} -l ${dir}/log -o '-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off' -w start >/dev/null`,
    );
  const stop = () => run(`${BIN}/pg_ctl -D ${data} -m immediate -w stop`);
  start();
  return {
    connectionString: `postgresql://postgres@127.0.0.1:${port}`,
    stop: () => {
      stop();
    },
    start: () => {
      start();
    },
    destroy: () => {
      try {
        stop();
      } catch {
        // Already stopped.
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
