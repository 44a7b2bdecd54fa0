import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';

const bin = path.resolve(__dirname, '../bin/release-commands');

function runCli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>(
    resolve => {
      const child = spawn(process.execPath, [bin, ...args], {
        env: { ...process.env, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (status: number | null) =>
        resolve({ status, stdout, stderr }),
      );
    },
  );
}

describe('release-commands CLI', () => {
  it('exits 2 on an unknown command', () => {
    const result = spawnSync(process.execPath, [bin, 'no-such-command'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown command 'no-such-command'");
  });

  it('reports the health of a backend', async () => {
    const server = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          req.url === '/api/release-commands/health'
            ? { status: 'ok' }
            : { error: req.url },
        ),
      );
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runCli(['health'], {
        RELEASE_COMMANDS_URL: `http://127.0.0.1:${port}`,
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`http://127.0.0.1:${port}: ok\n`);
    } finally {
      server.close();
    }
  });
});
