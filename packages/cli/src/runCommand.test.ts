import {
  CommandInput,
  ReleaseCommandsClient,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, spawnCli } from './__testUtils__/spawnCli';
import { startTcpProxy } from './__testUtils__/startTcpProxy';

jest.setTimeout(120_000);

const RUN_ID =
  /run ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/;

/**
 * The CLI as a pipeline runs it: a real process talking to the portal's
 * real backend process, which runs the commands on the real Docker engine.
 * One backend serves the file; each test deploys its own entity.
 */
describe('release-commands run, logs and commands against a real backend', () => {
  let backend: BackendProcess;
  let image: string;
  /** The CLI's note of the image every step ran. */
  let ranImage: string;

  beforeAll(async () => {
    const docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    const { Id } = await docker.getImage(image).inspect();
    ranImage = `release-commands: every step ran image ${Id}`;
    backend = await startBackendProcess({ database: 'sqlite' });
    // The backend keeps commands and starts runs only for entities in its
    // catalog: every test's entity, in one batch. ('refused' never gets past
    // the token.)
    await backend.registerComponents([
      'passes',
      'fails',
      'times-out',
      'gives-up',
      'interrupted',
      'cut',
      'listed',
      'checked',
      'killed',
    ]);
  }, 180_000);

  afterAll(async () => {
    await backend?.stop();
  });

  const cliEnv = () => ({
    RELEASE_COMMANDS_URL: backend.baseUrl,
    RELEASE_COMMANDS_TOKEN: backend.token,
  });

  const client = () =>
    new ReleaseCommandsClient({
      baseUrl: async () => `${backend.baseUrl}/api/release-commands`,
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('Authorization', `Bearer ${backend.token}`);
        return fetch(input, { ...init, headers });
      },
    });

  async function setCommands(entity: string, commands: CommandInput[]) {
    // A no-op for the names registered above; a new test's entity is
    // registered here.
    await backend.registerComponents([entity]);
    const entityRef = `component:default/${entity}`;
    const { revision } = await client().getCommands(entityRef);
    await client().replaceCommands(entityRef, { revision, commands });
  }

  const getRun = (id: string) => client().getRun(id);
  const storedLog = (id: string) => client().getLogText(id);

  function runIdIn(text: string): string {
    const match = RUN_ID.exec(text);
    if (!match) throw new Error(`No run id in: ${text}`);
    return match[1];
  }

  const deployArgs = (entity: string, ...more: string[]) => [
    'run',
    '--entity',
    `component:default/${entity}`,
    '--image',
    image,
    ...more,
  ];

  it('exits 0 when every command passes, printing the log exactly as stored', async () => {
    await setCommands('passes', [
      { label: 'Migrate', command: 'echo "migrating with $DATABASE_URL"' },
      { label: 'Check', command: 'echo "$FROM_FILE $FROM_PIPELINE"' },
    ]);
    const envFile = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'rc-cli-')),
      'release.env',
    );
    fs.writeFileSync(
      envFile,
      '# for the release\nexport FROM_FILE="from-file"\n',
    );

    const result = await runCli(
      deployArgs(
        'passes',
        '--environment',
        'production',
        '--env',
        'DATABASE_URL=postgres://user:s3cret-password@db/shop',
        '--env-file',
        envFile,
        '--env',
        'FROM_PIPELINE',
      ),
      { ...cliEnv(), FROM_PIPELINE: 'from-pipeline' },
    );

    expect(result.status).toBe(0);
    const id = runIdIn(result.stderr);
    expect(result.stdout).toBe(await storedLog(id));
    expect(result.stdout.split('\n')[0]).toBe(
      '===== docker release commands =====',
    );
    // Every value is a secret, wherever it came from.
    expect(result.stdout).toContain('migrating with ***\n');
    expect(result.stdout).toContain(
      '[2/2] Check: echo "$FROM_FILE $FROM_PIPELINE"\n*** ***\n',
    );
    expect(result.stdout).not.toMatch(
      /s3cret-password|from-file|from-pipeline/,
    );
    expect(result.stderrLines).toEqual([
      `release-commands: started run ${id} of component:default/passes on ${image} (2 commands, environment production)`,
      ranImage,
      `release-commands: run ${id} passed: 2 release commands of component:default/passes succeeded.`,
    ]);
    expect(await getRun(id)).toMatchObject({
      status: 'succeeded',
      trigger: 'pipeline',
      environment: 'production',
      envKeys: ['DATABASE_URL', 'FROM_FILE', 'FROM_PIPELINE'],
    });
  });

  it('exits 1 when a command fails, showing its output and the reason', async () => {
    await setCommands('fails', [
      { label: 'Migrate', command: 'echo migrated' },
      {
        label: 'Security checks',
        command: 'echo "HTTPS is not enforced" >&2; exit 3',
      },
      { label: 'Never', command: 'echo never' },
    ]);

    const result = await runCli(deployArgs('fails'), cliEnv());

    expect(result.status).toBe(1);
    const id = runIdIn(result.stderr);
    expect(result.stdout).toBe(await storedLog(id));
    expect(result.stdout).toContain('HTTPS is not enforced\n');
    expect(result.stdout).toMatch(/\[2\/3\] Security checks failed \(exit 3, /);
    expect(result.stdout).toContain('[3/3] Never skipped\n');
    expect(result.stderrLines.at(-1)).toBe(
      `release-commands: run ${id} failed: "Security checks" exited with code 3. The deployment must not proceed.`,
    );
  });

  it('exits 1 when a command passes its timeout', async () => {
    await setCommands('times-out', [
      { label: 'Slow', command: 'sleep 30', timeoutSeconds: 1 },
    ]);

    const result = await runCli(deployArgs('times-out'), cliEnv());

    expect(result.status).toBe(1);
    const id = runIdIn(result.stderr);
    expect(result.stderrLines.at(-1)).toBe(
      `release-commands: run ${id} timed out: "Slow" timed out after 1.0s and was stopped. The deployment must not proceed.`,
    );
    expect(result.stdout).toBe(await storedLog(id));
  });

  it('cancels the run and exits 1 when --timeout passes', async () => {
    await setCommands('gives-up', [
      { label: 'Hangs', command: 'echo started; sleep 3600' },
    ]);

    const result = await runCli(
      deployArgs('gives-up', '--timeout', '3'),
      cliEnv(),
    );

    expect(result.status).toBe(1);
    const id = runIdIn(result.stderr);
    expect(result.stderrLines.slice(1)).toEqual([
      `release-commands: --timeout of 3s reached: cancelling run ${id}`,
      ranImage,
      `release-commands: --timeout of 3s reached: cancelled run ${id} (Cancelled by test-pipeline while "Hangs" was running). The deployment must not proceed.`,
    ]);
    expect(result.stdout).toBe(await storedLog(id));
    expect((await getRun(id)).status).toBe('cancelled');
    expect(result.ms).toBeLessThan(20_000);
  });

  it('cancels the run and exits 1 on SIGINT when not on a terminal', async () => {
    await setCommands('interrupted', [
      { label: 'Hangs', command: 'echo started; sleep 3600' },
    ]);
    const cli = spawnCli(deployArgs('interrupted'), cliEnv());
    await cli.waitForOutput('started\n');
    cli.child.kill('SIGINT');

    const result = await cli.result;
    expect(result.status).toBe(1);
    const id = runIdIn(result.stderr);
    expect(result.stderrLines.slice(1)).toEqual([
      `release-commands: SIGINT received: cancelling run ${id}`,
      ranImage,
      `release-commands: SIGINT received: cancelled run ${id} (Cancelled by test-pipeline while "Hangs" was running). The deployment must not proceed.`,
    ]);
    expect(result.stdout).toBe(await storedLog(id));
    expect((await getRun(id)).status).toBe('cancelled');
  });

  it('exits 2 with a clear message when the backend refuses the token', async () => {
    const result = await runCli(deployArgs('refused'), {
      ...cliEnv(),
      RELEASE_COMMANDS_TOKEN: 'not-a-token-the-backend-knows',
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderrLines).toEqual([
      "release-commands: the backend refused the token (401 Illegal token): check RELEASE_COMMANDS_TOKEN; it must be one of the backend's backend.auth.externalAccess tokens",
    ]);
  });

  it('resumes a cut log stream without losing or repeating a line', async () => {
    await setCommands('cut', [
      {
        label: 'Count',
        command: 'for i in $(seq 1 40); do echo "line $i"; sleep 0.1; done',
      },
    ]);
    const proxy = await startTcpProxy(backend.baseUrl);
    try {
      const cli = spawnCli(deployArgs('cut'), {
        ...cliEnv(),
        RELEASE_COMMANDS_URL: proxy.url,
      });
      await cli.waitForOutput('line 5\n');
      expect(proxy.cut()).toBeGreaterThan(0);
      await cli.waitForOutput('line 20\n');
      expect(proxy.cut()).toBeGreaterThan(0);

      const result = await cli.result;
      expect(result.status).toBe(0);
      const id = runIdIn(result.stderr);
      const log = await storedLog(id);
      expect(result.stdout).toBe(log);
      const counted = log.split('\n').filter(line => line.startsWith('line '));
      expect(counted).toEqual(
        Array.from({ length: 40 }, (_, i) => `line ${i + 1}`),
      );
      const broke = result.stderrLines.filter(line =>
        line.includes(`the log stream of run ${id} broke`),
      );
      expect(broke).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });

  it('checks with --dry-run: each executable as the image has it, exit 0 when ready and 1 naming what is missing, nothing started', async () => {
    const entity = 'checked';
    const imageId = ranImage.split(' ').pop();
    await setCommands(entity, [{ label: 'List', command: 'ls /' }]);

    const ready = await runCli(deployArgs(entity, '--dry-run'), cliEnv());
    expect(ready.status).toBe(0);
    expect(ready.stdout).toBe(
      [
        `component:default/${entity} on ${image} (environment default): 1 release command`,
        // busybox's sh answers its applets as builtins.
        '  1. List: ls built into the shell',
        `every step would run image ${imageId}`,
        '',
      ].join('\n'),
    );
    expect(ready.stderrLines).toEqual([
      `release-commands: check of component:default/${entity} passed: ready to run 1 release command on ${image}; nothing was started.`,
    ]);

    await setCommands(entity, [
      { label: 'List', command: 'ls /' },
      { label: 'Migrate', command: './manage.sh migrate' },
    ]);
    const missing = await runCli(
      deployArgs(entity, '--dry-run', '--json'),
      cliEnv(),
    );
    expect(missing.status).toBe(1);
    const plan = JSON.parse(missing.stdout);
    expect(plan).toMatchObject({
      dryRun: true,
      ok: false,
      imageId,
      steps: [
        { label: 'List', executable: 'ls', found: 'ls' },
        { label: 'Migrate', executable: './manage.sh', found: false },
      ],
    });
    expect(plan.problems).toEqual([expect.stringContaining('./manage.sh')]);
    expect(missing.stderrLines).toEqual([
      `release-commands: check of component:default/${entity} failed: 1 problem would stop a run on ${image}; nothing was started. The deployment must not proceed.`,
    ]);

    expect(
      (await client().listRuns(`component:default/${entity}`)).runs,
    ).toEqual([]);
  });

  it('adds and lists commands, and prints or follows the log of a run', async () => {
    const entity = 'component:default/listed';
    const addMigrate = () =>
      runCli(
        [
          'commands',
          'add',
          entity,
          '--label',
          'Migrate',
          '--command',
          'echo migrated',
          '--timeout',
          '2m',
        ],
        cliEnv(),
      );
    const added = await addMigrate();
    expect(added).toMatchObject({
      status: 0,
      stdout: `Added "Migrate" to ${entity} as command 1 of 1 (revision 1).\n`,
    });
    // The same command twice is one command.
    const again = await addMigrate();
    expect(again.stdout).toBe(
      `"Migrate" is already command 1 of 1 of ${entity}: nothing changed.\n`,
    );
    const listed = await runCli(['commands', 'list', entity], cliEnv());
    expect(listed.stdout).toBe(
      `${entity}: 1 release command (revision 1, default timeout 1800s)\n` +
        '  1. Migrate: echo migrated  [api, timeout 120s]\n',
    );
    const json = await runCli(['commands', 'list', entity, '--json'], cliEnv());
    expect(JSON.parse(json.stdout)).toMatchObject({
      entityRef: entity,
      revision: 1,
      commands: [{ label: 'Migrate', timeoutSeconds: 120, source: 'api' }],
    });
    const badTimeout = await runCli(
      [
        'commands',
        'add',
        entity,
        '--label',
        'X',
        '--command',
        'true',
        '--timeout',
        '1.5',
      ],
      cliEnv(),
    );
    expect(badTimeout.status).toBe(2);
    expect(badTimeout.stderrLines).toEqual([
      'release-commands: --timeout must be a whole number of seconds',
    ]);

    const deployed = await runCli(
      ['run', '--entity', entity, '--image', image, '--json'],
      cliEnv(),
    );
    expect(deployed.status).toBe(0);
    const { run, exitCode } = JSON.parse(deployed.stdout);
    expect(exitCode).toBe(0);
    expect(run).toMatchObject({
      status: 'succeeded',
      entityRef: entity,
      image,
      imageId: ranImage.split(' ').pop(),
      imageDigest: null,
    });
    const log = await storedLog(run.id);
    expect(deployed.stderr).toContain(log);

    const printed = await runCli(['logs', run.id], cliEnv());
    expect(printed).toMatchObject({ status: 0, stdout: log, stderr: '' });
    const followed = await runCli(['logs', run.id, '--follow'], cliEnv());
    expect(followed).toMatchObject({ status: 0, stdout: log });
    expect(followed.stderrLines).toEqual([
      `release-commands: run ${run.id} passed: 1 release command of ${entity} succeeded.`,
    ]);
    const asJson = await runCli(['logs', run.id, '--json'], cliEnv());
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      run: { id: run.id, status: 'succeeded' },
      log,
    });
  });

  // Last: it kills the shared backend.
  it('exits 3 naming the run when the backend is killed mid-run; the run then reads as interrupted', async () => {
    await setCommands('killed', [
      { label: 'Hangs', command: 'echo started; sleep 3600' },
    ]);
    const cli = spawnCli(deployArgs('killed'), {
      ...cliEnv(),
      RELEASE_COMMANDS_RECONNECT_SECONDS: '3',
    });
    await cli.waitForOutput('started\n');
    await backend.kill('SIGKILL');

    const result = await cli.result;
    expect(result.status).toBe(3);
    const id = runIdIn(result.stderr);
    expect(result.stderrLines.at(-1)).toMatch(
      new RegExp(
        `^release-commands: lost contact with the backend for [34]s while following run ${id} \\(.+\\): the outcome of run ${id} is unknown; look it up with "release-commands logs ${id}" before deploying\\.$`,
      ),
    );

    await backend.restart();
    const followed = await runCli(['logs', id, '--follow'], cliEnv());
    expect(followed.status).toBe(1);
    expect(followed.stdout).toBe(await storedLog(id));
    expect(followed.stderrLines.at(-1)).toMatch(
      new RegExp(
        `^release-commands: run ${id} was interrupted and did not complete, so it has not passed: .+ The deployment must not proceed\\.$`,
      ),
    );
  });
});
