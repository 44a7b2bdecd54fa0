import http from 'node:http';
import net from 'node:net';
import { runCli } from './__testUtils__/spawnCli';
import { version } from '../package.json';

/** A URL on which nothing listens. */
async function closedPortUrl() {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

jest.setTimeout(30_000);

describe('release-commands CLI', () => {
  it('exits 2 on an unknown command', async () => {
    const result = await runCli(['no-such-command']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown command 'no-such-command'");
  });

  it("prints the package's own version", async () => {
    const result = await runCli(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
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
      const { port } = server.address() as net.AddressInfo;
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

/** Mistakes in the pipeline's call: exit 2, one line naming what to fix. */
describe('release-commands run, refused before anything is sent', () => {
  const env = {
    RELEASE_COMMANDS_TOKEN: 'token',
    RELEASE_COMMANDS_URL: 'http://127.0.0.1:9',
  };
  const base = [
    'run',
    '--entity',
    'component:default/shop',
    '--image',
    'shop:1',
  ];

  it.each([
    [
      ['run', '--image', 'shop:1'],
      "release-commands: required option '--entity <ref>' not specified",
    ],
    [
      ['run', '--entity', 'shop', '--image', 'shop:1'],
      'release-commands: --entity must be an entity ref of the form kind:namespace/name, got "shop"',
    ],
    [
      ['run', '--entity', 'component:default/shop', '--image', 'Shop:Latest!'],
      'release-commands: --image must be an image reference such as registry.example.com/team/shop:1.4.2 (lower-case name, optional tag and digest)',
    ],
    [
      [...base, '--env', '1BAD=x'],
      'release-commands: --env 1BAD is not a valid name: use letters, digits and underscores, not starting with a digit',
    ],
    [
      [...base, '--env', 'NOT_SET_ANYWHERE'],
      'release-commands: --env NOT_SET_ANYWHERE: NOT_SET_ANYWHERE is not set in this environment (give --env NOT_SET_ANYWHERE=VALUE, or export it)',
    ],
    [
      [...base, '--environment', 'Production'],
      'release-commands: --environment must be a short lower-case name such as production or staging',
    ],
    [
      [...base, '--timeout', 'soon'],
      'release-commands: --timeout must be a positive duration in seconds (or with s, m or h, e.g. 90, 10m, 1h), got "soon"',
    ],
    [
      [...base, '--no-such-flag'],
      "release-commands: unknown option '--no-such-flag'",
    ],
    [
      ['logs', 'not-a-run-id'],
      'release-commands: RUN_ID must be a run id (a UUID), got "not-a-run-id"',
    ],
    [
      [
        'commands',
        'add',
        'component:default/shop',
        '--label',
        ' ',
        '--command',
        'true',
      ],
      'release-commands: --label must not be empty',
    ],
  ])('exits 2 for %j', async (args, message) => {
    const result = await runCli(args, env);
    expect(result).toMatchObject({ status: 2, stdout: '' });
    expect(result.stderrLines).toEqual([message]);
  });

  it('exits 2 for an --env-file that cannot be read', async () => {
    // Node itself looks at every `--env-file` argument, even after the
    // script, and exits 9 when the file is missing (nodejs/node#54232);
    // after `--` it leaves them to the CLI.
    const args = [...base, '--env-file', '/no/such/file.env'];
    const result = await runCli(args, env, { nodeArgs: ['--'] });
    expect(result).toMatchObject({ status: 2, stdout: '' });
    expect(result.stderrLines).toEqual([
      "release-commands: --env-file /no/such/file.env cannot be read: ENOENT: no such file or directory, open '/no/such/file.env'",
    ]);
    const plain = await runCli(args, env);
    expect(plain.status).toBe(9);
    expect(plain.stderr).toContain('/no/such/file.env: not found');
  });

  it('exits 2 without a token', async () => {
    const result = await runCli(base, {
      RELEASE_COMMANDS_URL: env.RELEASE_COMMANDS_URL,
    });
    expect(result.status).toBe(2);
    expect(result.stderrLines).toEqual([
      'release-commands: RELEASE_COMMANDS_TOKEN is not set: give it a token the backend accepts (a backend.auth.externalAccess token)',
    ]);
  });

  it('exits 2 when the backend cannot be reached to start the run', async () => {
    const url = await closedPortUrl();
    const result = await runCli(base, { ...env, RELEASE_COMMANDS_URL: url });
    expect(result.status).toBe(2);
    expect(result.stderrLines).toEqual([
      `release-commands: cannot reach the backend at ${url} to start a run of component:default/shop (fetch failed: ECONNREFUSED): check RELEASE_COMMANDS_URL or --url`,
    ]);
  });
});
