/*
 * The adopter's path, and nothing more: the published packages packed as a
 * release packs them, a stock app made by @backstage/create-app 0.9.2 from
 * the npm registry, the packages added the way the README's install section
 * says, the app started with `yarn start` on its SQLite database and the real
 * Docker engine, then used through its API, the CLI installed with npm, and
 * the tab in headless Chromium. The steps build on each other and run in
 * order.
 *
 * Test harness, not install steps: an `app-config.local.yaml` with free
 * ports, a static service token for the API calls and containers without a
 * network; a `yarn` on PATH for create-app; the CLI installed under a
 * temporary prefix instead of the machine's global folder.
 */
import {
  ProcessGroup,
  buildBusyboxImage,
  findRepositoryRoot,
  freePort,
  launchChromium,
  openSignedIn,
  requireDocker,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Browser } from 'playwright-core';
import { installCli } from './installCli';
import { PackedPackage, packPublishedPackages } from './packPublishedPackages';
import { BACKEND_PACKAGES, FRONTEND_PACKAGE, StockApp } from './StockApp';
import { readTarball } from './readTarball';

const ARTIFACTS = path.join(findRepositoryRoot(), 'test/artifacts/adopter');
const IMAGE = 'release-commands-test/adopter-busybox:1';
/** In the stock app's examples/entities.yaml. */
const ENTITY = 'component:default/example-website';
const ENTITY_PATH = 'entities/component/default/example-website';
const COMMANDS = [
  { label: 'Say hello', command: 'echo "hello from the adopter app"' },
  { label: 'Chain', command: 'echo first && echo second' },
];

/** What the stock app must resolve once, not twice, next to ours. */
const SHARED_BACKSTAGE_PACKAGES = [
  '@backstage/backend-defaults',
  '@backstage/backend-plugin-api',
  '@backstage/core-plugin-api',
  '@backstage/frontend-plugin-api',
  '@backstage/plugin-catalog-react',
  '@backstage/plugin-scaffolder-node',
];

/**
 * A range a registry resolves: `^1.2.3`, `>=1 <2`, `^17.0.0 || ^18.0.0`,
 * `*`; not `workspace:^`, `file:...`, `link:...` or a git address.
 */
function isPlainVersionRange(range: string): boolean {
  const comparator = /^(\^|~|>=|<=|>|<|=)?\d+(\.(\d+|x|\*)){0,2}(-[\w.]+)?$/;
  return range.split('||').every(alternative =>
    alternative
      .trim()
      .split(/\s+/)
      .every(part => part === '*' || comparator.test(part)),
  );
}

/**
 * The files an `exports` map points at, whatever its nesting of conditions
 * (`backstage` names the kind of feature an entry point holds, not a file).
 */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports && typeof exports === 'object') {
    return Object.entries(exports)
      .filter(([condition]) => condition !== 'backstage')
      .flatMap(([, target]) => exportTargets(target));
  }
  return [];
}

// Installs of a whole app and its first compile on a 2-CPU machine: a
// safety net, each step waits for its own condition.
jest.setTimeout(25 * 60_000);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-adopter-'));
const token = randomBytes(24).toString('base64url');
const timings: string[] = [];
const runIds: string[] = [];

let docker: Docker;
let browser: Browser | undefined;
let packed: PackedPackage[] = [];
let cli = '';
let app: StockApp | undefined;
let started: ProcessGroup | undefined;
let backendUrl = '';
let appUrl = '';

async function timed<T>(step: string, body: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await body();
  } finally {
    timings.push(`${step}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    fs.writeFileSync(path.join(ARTIFACTS, 'timings.txt'), timings.join('\n'));
  }
}

async function api(apiPath: string, init: RequestInit = {}) {
  return fetch(`${backendUrl}${apiPath}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(init.body ? { 'Content-Type': 'application/json' } : {}),
    },
  });
}

async function apiJson(apiPath: string, init: RequestInit = {}) {
  const res = await api(apiPath, init);
  const text = await res.text();
  if (!res.ok) {
    throw new Error(
      `${init.method ?? 'GET'} ${apiPath}: ${res.status} ${text}`,
    );
  }
  return JSON.parse(text);
}

/** The CLI as a pipeline runs it: its exit code, its output. */
async function runCli(args: string[]) {
  const env = {
    ...process.env,
    PATH: [path.dirname(process.execPath), process.env.PATH].join(
      path.delimiter,
    ),
    RELEASE_COMMANDS_URL: backendUrl,
    RELEASE_COMMANDS_TOKEN: token,
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(cli, args, { env });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as {
      code: number;
      stdout: string;
      stderr: string;
    };
    return { status: code, stdout, stderr };
  }
}

beforeAll(async () => {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // Missing services fail the suite before the long install.
  docker = await requireDocker();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await timed('stop the app', async () => started?.stop());
  for (const runId of runIds) {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`org.release-commands.run=${runId}`] },
    });
    for (const { Id } of containers) {
      await docker.getContainer(Id).remove({ force: true });
    }
  }
  // About 200,000 files: minutes on a slow disk.
  await timed('remove the temporary folder', async () =>
    fs.rmSync(workDir, { recursive: true, force: true }),
  );
});

it('1. packs every published package: package.json points at dist, dependencies are plain versions', async () => {
  packed = await timed('pack', () =>
    packPublishedPackages({
      outDir: path.join(workDir, 'packages'),
      logFile: path.join(ARTIFACTS, 'pack.log'),
    }),
  );
  expect(packed.map(p => p.name)).toEqual(
    expect.arrayContaining([
      ...BACKEND_PACKAGES,
      FRONTEND_PACKAGE,
      '@release-commands/backstage-plugin-release-commands-common',
      '@release-commands/backstage-plugin-release-commands-node',
      '@release-commands/cli',
    ]),
  );

  for (const { name, tarball } of packed) {
    const { manifest, files } = readTarball(
      tarball,
      path.join(workDir, 'unpacked'),
    );
    const ranges = {
      ...manifest.dependencies,
      ...manifest.peerDependencies,
    } as Record<string, string>;
    expect({
      name: manifest.name,
      license: manifest.license,
      private: manifest.private,
      readme: files.includes('README.md'),
      src: files.filter(file => file.startsWith('src/')),
      notPlainRanges: Object.entries(ranges)
        .filter(([, range]) => !isPlainVersionRange(range))
        .map(([dependency, range]) => `${dependency}@${range}`),
    }).toEqual({
      name,
      license: 'Apache-2.0',
      private: undefined,
      readme: true,
      src: [],
      notPlainRanges: [],
    });
    // Every entry point is a built file that is in the tarball.
    const entryPoints = [
      manifest.main,
      manifest.module,
      manifest.types,
      ...exportTargets(manifest.exports),
    ].filter((file): file is string => typeof file === 'string');
    for (const file of entryPoints) {
      expect(`${name}: ${path.normalize(file)}`).toMatch(
        new RegExp(`^${name}: (dist/|package\\.json$)`),
      );
      expect(files).toContain(path.normalize(file));
    }
  }

  const contents = (name: string) =>
    readTarball(
      packed.find(p => p.name === name)!.tarball,
      path.join(workDir, 'unpacked'),
    );
  const backend = contents(BACKEND_PACKAGES[0]);
  // The config schema as JSON (from config.d.ts) and the knex migrations.
  expect(backend.manifest.configSchema).toBe('config.schema.json');
  expect(
    JSON.parse(backend.read('config.schema.json')).properties,
  ).toHaveProperty('releaseCommands');
  expect(backend.files.filter(f => f.startsWith('migrations/'))).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^migrations\/\d+_\w+\.js$/),
    ]),
  );
  // The new frontend system finds the plugin by this export.
  const frontend = contents(FRONTEND_PACKAGE);
  expect(frontend.manifest.exports['./alpha']).toMatchObject({
    backstage: '@backstage/FrontendPlugin',
    import: './dist/alpha.esm.js',
  });
  const cliPackage = contents('@release-commands/cli');
  expect(cliPackage.manifest.bin).toEqual({
    'release-commands': 'bin/release-commands',
  });
  expect(cliPackage.read('bin/release-commands')).toMatch(
    /^#!\/usr\/bin\/env node\n/,
  );
});

it('2. installs the CLI with npm from its tarball and the common package', async () => {
  cli = await timed('install CLI', () =>
    installCli({
      packed,
      prefix: path.join(workDir, 'cli'),
      logFile: path.join(ARTIFACTS, 'install-cli.log'),
    }),
  );
  const version = packed.find(p => p.name === '@release-commands/cli')!.version;
  expect(await runCli(['--version'])).toEqual({
    status: 0,
    stdout: `${version}\n`,
    stderr: '',
  });
  const help = await runCli(['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: release-commands /);
});

it('3. creates a stock app with @backstage/create-app 0.9.2 and installs it', async () => {
  app = await timed('create-app', () =>
    StockApp.create({
      dir: path.join(workDir, 'app'),
      name: 'adopter-app',
      binDir: path.join(workDir, 'bin'),
      logDir: ARTIFACTS,
    }),
  );
  await timed('yarn install', () => app!.install());
  expect(app.installedManifest('@backstage/backend-defaults')).toMatchObject({
    version: expect.stringMatching(/^0\.18\./),
  });
});

it('4. moves the app to the current Backstage release and adds the packed packages as the README says', async () => {
  await timed("yarn up '@backstage/*'", () => app!.moveToCurrentRelease());
  await timed('add the packages', () => app!.addReleaseCommands(packed));

  // Ours run on the app's copies: one version of each shared package.
  const versions = app!.backstageVersions();
  expect(
    SHARED_BACKSTAGE_PACKAGES.map(name => [name, versions.get(name)?.length]),
  ).toEqual(SHARED_BACKSTAGE_PACKAGES.map(name => [name, 1]));
  expect(app!.installedManifest(BACKEND_PACKAGES[0])).toMatchObject({
    main: './dist/index.cjs.js',
  });
});

it('5. starts on SQLite with the Docker engine: the health route answers 200', async () => {
  const [appPort, backendPort] = [await freePort(), await freePort()];
  appUrl = `http://localhost:${appPort}`;
  backendUrl = `http://localhost:${backendPort}`;
  started = app!.start({
    app: { baseUrl: appUrl },
    backend: {
      baseUrl: backendUrl,
      listen: { port: backendPort },
      cors: { origin: appUrl },
      auth: {
        externalAccess: [
          { type: 'static', options: { token, subject: 'adopter-suite' } },
        ],
      },
    },
    releaseCommands: {
      images: { allow: [{ repositoryPrefix: 'release-commands-test/' }] },
      docker: { networkMode: 'none' },
    },
  });
  const group = started;
  const until = Date.now() + 15 * 60_000;
  const answers = (url: string) =>
    fetch(url, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    }).then(res => res.ok);

  await timed('backend start', () =>
    group.waitFor(
      'the release-commands health route to answer',
      () => answers(`${backendUrl}/api/release-commands/health`),
      { until },
    ),
  );
  const health = await fetch(`${backendUrl}/api/release-commands/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });

  await group.waitFor(
    `the catalog to have read ${ENTITY}`,
    () =>
      answers(
        `${backendUrl}/api/catalog/entities/by-name/component/default/example-website`,
      ),
    { until },
  );
  // The dev server answers once the first compile is done.
  await timed('frontend compile', () =>
    group.waitFor('the app to answer', () => answers(appUrl), { until }),
  );
});

it('6. keeps commands set through the API', async () => {
  const empty = await apiJson(`/api/release-commands/${ENTITY_PATH}/commands`);
  expect(empty).toMatchObject({ entityRef: ENTITY, commands: [] });

  await apiJson(`/api/release-commands/${ENTITY_PATH}/commands`, {
    method: 'PUT',
    body: JSON.stringify({ revision: empty.revision, commands: COMMANDS }),
  });
  const stored = await apiJson(`/api/release-commands/${ENTITY_PATH}/commands`);
  expect(stored.revision).toBe(empty.revision + 1);
  expect(
    stored.commands.map(
      ({
        label,
        command,
        enabled,
      }: (typeof COMMANDS)[0] & {
        enabled: boolean;
      }) => ({ label, command, enabled }),
    ),
  ).toEqual(COMMANDS.map(c => ({ ...c, enabled: true })));
});

it('7. runs them on a busybox image: the run passes with their output in its log', async () => {
  await buildBusyboxImage(docker, { tag: IMAGE });
  const queued = await apiJson(`/api/release-commands/${ENTITY_PATH}/runs`, {
    method: 'POST',
    body: JSON.stringify({ image: IMAGE }),
  });
  runIds.push(queued.id);

  let run = queued;
  const until = Date.now() + 120_000;
  while (['queued', 'running'].includes(run.status)) {
    if (Date.now() > until)
      throw new Error(`Run ${run.id} is still ${run.status}`);
    await sleep(250);
    run = await apiJson(`/api/release-commands/runs/${queued.id}`);
  }
  expect(run).toMatchObject({ status: 'succeeded', image: IMAGE });
  expect(run.steps.map((s: { status: string }) => s.status)).toEqual([
    'succeeded',
    'succeeded',
  ]);

  const log = await (
    await api(`/api/release-commands/runs/${run.id}/logs`)
  ).text();
  const lines = log.split('\n');
  expect(lines).toEqual(
    expect.arrayContaining([
      '===== docker release commands =====',
      `[1/2] ${COMMANDS[0].label}: ${COMMANDS[0].command}`,
      'hello from the adopter app',
      'first',
      'second',
    ]),
  );
  expect(lines.indexOf('first')).toBeLessThan(lines.indexOf('second'));
  expect(log).toMatch(/^Release commands passed/m);
});

it('8. the CLI installed from its tarball checks health and runs the commands', async () => {
  expect(await runCli(['health'])).toEqual({
    status: 0,
    stdout: `${backendUrl}: ok\n`,
    stderr: '',
  });

  const result = await runCli(['run', '--entity', ENTITY, '--image', IMAGE]);
  const runId = result.stderr.match(/started run (\S+)/)?.[1];
  if (runId) runIds.push(runId);
  expect(result).toMatchObject({ status: 0 });
  expect(result.stdout).toContain('\nhello from the adopter app\n');
  expect(result.stderr).toMatch(/run \S+ passed/);
});

it('9. shows the Release commands tab on the component in headless Chromium', async () => {
  const context = await browser!.newContext({
    viewport: { width: 1440, height: 1000 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  try {
    await openSignedIn(
      page,
      `${appUrl}/catalog/default/component/example-website`,
    );
    // The stock app has no `settings` group: the tab is one of its own.
    const tab = page.getByRole('link', {
      name: 'Release commands',
      exact: true,
    });
    await tab.waitFor();
    expect(await tab.getAttribute('href')).toBe(
      '/catalog/default/component/example-website/release-commands',
    );
    await tab.click();

    const table = page.getByRole('table', {
      name: 'Release commands in run order',
    });
    for (const { label, command } of COMMANDS) {
      await table.getByText(label, { exact: true }).waitFor();
      await table.getByText(command, { exact: true }).waitFor();
    }
    // The runs of steps 7 and 8, from the runs API.
    await page.getByText('Succeeded', { exact: true }).first().waitFor();
    await page.getByRole('button', { name: 'Run release commands' }).waitFor();
    await page.screenshot({
      path: path.join(ARTIFACTS, 'tab.png'),
      fullPage: true,
    });
  } catch (error) {
    await page
      .screenshot({
        path: path.join(ARTIFACTS, 'tab-failure.png'),
        fullPage: true,
      })
      .catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
});
