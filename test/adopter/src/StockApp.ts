import {
  ProcessGroup,
  findRepositoryRoot,
  shellEnvironment,
  startProcessGroup,
} from '@release-commands/test-utils';
import fs from 'node:fs';
import path from 'node:path';
import { PackedPackage } from './packPublishedPackages';
import { runLogged } from './runLogged';

export const CREATE_APP = '@backstage/create-app@0.9.2';

/** The packages an app installs, and where (the others come with them). */
export const BACKEND_PACKAGES = [
  '@release-commands/backstage-plugin-release-commands-backend',
  '@release-commands/backstage-plugin-scaffolder-backend-module-release-commands',
];
export const FRONTEND_PACKAGE =
  '@release-commands/backstage-plugin-release-commands';

/** Where the README puts the tarballs in the app, relative to its root. */
const TARBALL_DIR = 'release-commands';

/**
 * A Backstage app made by `@backstage/create-app`, changed only the way the
 * README's install section says. Each method is one step of that section;
 * every command's output goes to `<logDir>/<step>.log`.
 */
export class StockApp {
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    readonly dir: string,
    private readonly logDir: string,
    private readonly binDir: string,
  ) {
    const env = shellEnvironment();
    // Node 22 (create-app refuses older) and a `yarn`, first on PATH.
    env.PATH = [binDir, path.dirname(process.execPath), env.PATH].join(
      path.delimiter,
    );
    // Under CI=true `yarn install` refuses to change the lockfile (YN0028),
    // and create-app's comes empty; a person installing on their machine
    // writes theirs.
    env.YARN_ENABLE_IMMUTABLE_INSTALLS = 'false';
    this.env = env;
  }

  /**
   * `BACKSTAGE_APP_NAME=NAME npx -y @backstage/create-app@0.9.2 --skip-install --path DIR`.
   * create-app only asks `yarn -v`; the app's own `.yarnrc.yml` names the
   * Yarn release that runs in it. `binDir` gets a `yarn` that starts the
   * repository's Yarn, which hands over to the app's.
   */
  static async create(options: {
    dir: string;
    name: string;
    binDir: string;
    logDir: string;
  }): Promise<StockApp> {
    const root = findRepositoryRoot();
    fs.mkdirSync(options.binDir, { recursive: true });
    const yarnPath = fs
      .readFileSync(path.join(root, '.yarnrc.yml'), 'utf8')
      .match(/^yarnPath:\s*(\S+)/m)![1];
    fs.writeFileSync(
      path.join(options.binDir, 'yarn'),
      `#!/bin/sh\nexec "${process.execPath}" "${path.join(
        root,
        yarnPath,
      )}" "$@"\n`,
      { mode: 0o755 },
    );
    const app = new StockApp(options.dir, options.logDir, options.binDir);
    await app.run(
      'create-app',
      'npx',
      ['-y', CREATE_APP, '--skip-install', '--path', options.dir],
      { cwd: path.dirname(options.dir), BACKSTAGE_APP_NAME: options.name },
    );
    return app;
  }

  /** `yarn install`, as create-app says once it is done. */
  async install() {
    await this.yarn('install', ['install']);
  }

  /**
   * Moves every `@backstage/*` package to its latest release:
   * `yarn up '@backstage/*'`. (`yarn backstage-cli versions:bump` does the
   * same from the release manifest on versions.backstage.io, which cannot be
   * reached from every machine.)
   */
  async moveToCurrentRelease() {
    await this.yarn('backstage-release', ['up', '@backstage/*']);
  }

  /**
   * Until the packages are on a registry: the tarballs in
   * `release-commands/`, a root `resolutions` entry for each (so the
   * references between them resolve too), then the same `yarn add` lines as
   * from a registry, and the backend's two `backend.add(...)` lines. The
   * frontend plugin needs no code: the app discovers it (`app.packages: all`).
   */
  async addReleaseCommands(packed: PackedPackage[]) {
    const tarballDir = path.join(this.dir, TARBALL_DIR);
    fs.mkdirSync(tarballDir, { recursive: true });
    const manifest = path.join(this.dir, 'package.json');
    const root = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    const byName = new Map(packed.map(p => [p.name, p]));
    for (const { name, tarball } of packed) {
      fs.copyFileSync(tarball, path.join(tarballDir, path.basename(tarball)));
      // The CLI is installed with npm, outside the app.
      if (name === '@release-commands/cli') continue;
      root.resolutions = {
        ...root.resolutions,
        [name]: `file:./${TARBALL_DIR}/${path.basename(tarball)}`,
      };
    }
    fs.writeFileSync(manifest, `${JSON.stringify(root, null, 2)}\n`);

    const range = (name: string) => {
      const pkg = byName.get(name);
      if (!pkg) throw new Error(`${name} was not packed`);
      return `${name}@^${pkg.version}`;
    };
    await this.yarn('add-backend', [
      '--cwd',
      'packages/backend',
      'add',
      ...BACKEND_PACKAGES.map(range),
    ]);
    await this.yarn('add-frontend', [
      '--cwd',
      'packages/app',
      'add',
      range(FRONTEND_PACKAGE),
    ]);

    const index = path.join(this.dir, 'packages/backend/src/index.ts');
    const source = fs.readFileSync(index, 'utf8');
    if (!source.includes('\nbackend.start();')) {
      throw new Error(`No "backend.start();" line in ${index}`);
    }
    const lines = BACKEND_PACKAGES.map(
      name => `backend.add(import('${name}'));`,
    );
    fs.writeFileSync(
      index,
      source.replace(
        '\nbackend.start();',
        `\n${lines.join('\n')}\n\nbackend.start();`,
      ),
    );
  }

  /** Every version of each `@backstage/*` package the lockfile resolves, by name. */
  backstageVersions(): Map<string, string[]> {
    const lockfile = fs.readFileSync(path.join(this.dir, 'yarn.lock'), 'utf8');
    const versions = new Map<string, Set<string>>();
    for (const [, name, version] of lockfile.matchAll(
      /^ {2}resolution: "(@backstage\/[^@"]+)@npm:([^"]+)"$/gm,
    )) {
      versions.set(name, (versions.get(name) ?? new Set()).add(version));
    }
    return new Map([...versions].map(([name, set]) => [name, [...set]]));
  }

  /** The installed copy of a package's package.json, as the app resolves it. */
  installedManifest(name: string): Record<string, unknown> {
    return JSON.parse(
      fs.readFileSync(
        path.join(this.dir, 'node_modules', name, 'package.json'),
        'utf8',
      ),
    );
  }

  /**
   * `yarn start` (frontend dev server and backend), in a process group of
   * its own. `localConfig` goes to `app-config.local.yaml`, which the app
   * reads after its `app-config.yaml`.
   */
  start(localConfig: object): ProcessGroup {
    fs.writeFileSync(
      path.join(this.dir, 'app-config.local.yaml'),
      // JSON is YAML.
      JSON.stringify(localConfig, null, 2),
    );
    return startProcessGroup(this.yarnCommand(), ['start'], {
      cwd: this.dir,
      env: this.env,
      logFile: path.join(this.logDir, 'start.log'),
    });
  }

  private yarnCommand() {
    return path.join(this.binDir, 'yarn');
  }

  private yarn(step: string, args: string[]) {
    return this.run(step, this.yarnCommand(), args, { cwd: this.dir });
  }

  private async run(
    step: string,
    command: string,
    args: string[],
    options: { cwd: string } & Record<string, string>,
  ) {
    const { cwd, ...env } = options;
    await runLogged(command, args, {
      cwd,
      env: { ...this.env, ...env },
      logFile: path.join(this.logDir, `${step}.log`),
    });
  }
}
