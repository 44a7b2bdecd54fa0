import { RunPlan } from '@release-commands/backstage-plugin-release-commands-common';
import net from 'node:net';
import { runCli } from './__testUtils__/spawnCli';
import { startFakeBackend } from './__testUtils__/startFakeBackend';
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
    const backend = await startFakeBackend(request => ({
      status: 200,
      body:
        request.url === '/api/release-commands/health'
          ? { status: 'ok' }
          : { error: request.url },
    }));
    try {
      const result = await runCli(['health'], {
        RELEASE_COMMANDS_URL: backend.url,
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${backend.url}: ok\n`);
    } finally {
      await backend.close();
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
      [...base, '--dry-run', '--timeout', '30m'],
      "release-commands: option '--dry-run' cannot be used with option '--timeout <duration>'",
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

/**
 * `run --dry-run` against a stand-in backend that answers the plan: what the
 * CLI sends, prints and exits with for each kind of answer.
 */
describe('release-commands run --dry-run', () => {
  const entityRef = 'component:default/shop';
  const image = 'registry.example.com/shop:1.4.2';
  const imageId =
    'sha256:d0a1c39d6edf1f1a4f0cbb3e5e55e3b1e0c6f5d6a7b8c9d0e1f2a3b4c5d6e7f8';
  const args = (...more: string[]) => [
    'run',
    '--dry-run',
    '--entity',
    entityRef,
    '--image',
    image,
    '--environment',
    'production',
    ...more,
  ];
  const plan = (overrides: Partial<RunPlan> = {}): RunPlan => ({
    dryRun: true,
    ok: true,
    entityRef,
    environment: 'production',
    image,
    imageId,
    imageDigest: null,
    steps: [
      {
        position: 0,
        label: 'Migrate database',
        source: 'user',
        command: 'python manage.py migrate',
        timeoutSeconds: 1800,
        executable: 'python',
        found: '/usr/local/bin/python',
      },
      {
        position: 1,
        label: 'Security checks',
        source: 'user',
        command: './manage.sh check-security',
        timeoutSeconds: 120,
        executable: './manage.sh',
        found: '/app/manage.sh',
      },
    ],
    problems: [],
    ...overrides,
  });

  async function checkWith(
    answer: { status: number; body: unknown },
    more: string[] = [],
  ) {
    const backend = await startFakeBackend(() => answer);
    try {
      const result = await runCli(args(...more), {
        RELEASE_COMMANDS_URL: backend.url,
        RELEASE_COMMANDS_TOKEN: 'pipeline-token',
        DATABASE_URL: 'postgres://db/shop',
      });
      return { result, requests: backend.requests };
    } finally {
      await backend.close();
    }
  }

  it('exits 0 on a clean plan and prints it, asking with dryRun and the variables', async () => {
    const { result, requests } = await checkWith(
      { status: 200, body: plan() },
      ['--env', 'DATABASE_URL'],
    );

    expect(requests).toEqual([
      {
        method: 'POST',
        url: '/api/release-commands/entities/component/default/shop/runs',
        authorization: 'Bearer pipeline-token',
        body: {
          image,
          environment: 'production',
          env: { DATABASE_URL: 'postgres://db/shop' },
          dryRun: true,
        },
      },
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      [
        `${entityRef} on ${image} (environment production): 2 release commands`,
        '  1. Migrate database: python found at /usr/local/bin/python',
        '  2. Security checks: ./manage.sh found at /app/manage.sh',
        `every step would run image ${imageId}`,
        '',
      ].join('\n'),
    );
    expect(result.stderrLines).toEqual([
      `release-commands: check of ${entityRef} passed: ready to run 2 release commands on ${image}; nothing was started.`,
    ]);
  });

  it('exits 1 on a plan with problems, printing each on its own line', async () => {
    const problems = [
      'component:default/shop already has an active run in production: run 6f1c0000-0000-4000-8000-000000000000, started by plugin:ci.',
      `Step 2 of 2, "Security checks": ./manage.sh is not in the image ${image} (command -v found nothing there, as the step would run).`,
    ];
    const checked = plan({ ok: false, problems });
    checked.steps[1].found = false;

    const { result } = await checkWith({ status: 200, body: checked });

    expect(result.status).toBe(1);
    expect(result.stdout.split('\n')).toEqual([
      `${entityRef} on ${image} (environment production): 2 release commands`,
      '  1. Migrate database: python found at /usr/local/bin/python',
      '  2. Security checks: ./manage.sh missing',
      `every step would run image ${imageId}`,
      `problem: ${problems[0]}`,
      `problem: ${problems[1]}`,
      '',
    ]);
    expect(result.stderrLines).toEqual([
      `release-commands: check of ${entityRef} failed: 2 problems would stop a run on ${image}; nothing was started. The deployment must not proceed.`,
    ]);
  });

  it('prints the plan as JSON with --json, exiting as without', async () => {
    const clean = await checkWith({ status: 200, body: plan() }, ['--json']);
    expect(clean.result.status).toBe(0);
    expect(JSON.parse(clean.result.stdout)).toEqual(plan());

    const refused = plan({ ok: false, imageId: null, problems: ['No image.'] });
    const failed = await checkWith({ status: 200, body: refused }, ['--json']);
    expect(failed.result.status).toBe(1);
    expect(JSON.parse(failed.result.stdout)).toEqual(refused);
    expect(failed.result.stderrLines).toHaveLength(1);
  });

  it('exits 2 when the backend refuses the check', async () => {
    const { result } = await checkWith({
      status: 404,
      body: {
        error: {
          name: 'NotFoundError',
          message: `No entity ${entityRef} in the catalog`,
        },
        response: { statusCode: 404 },
      },
    });
    expect(result).toMatchObject({ status: 2, stdout: '' });
    expect(result.stderrLines).toEqual([
      `release-commands: could not check a run of ${entityRef}: 404 No entity ${entityRef} in the catalog`,
    ]);
  });
});
