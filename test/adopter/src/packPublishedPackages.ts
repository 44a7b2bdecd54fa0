import {
  findRepositoryRoot,
  shellEnvironment,
} from '@release-commands/test-utils';
import fs from 'node:fs';
import path from 'node:path';
import { runLogged } from './runLogged';

/** A published package of this repository, built and packed. */
export type PackedPackage = {
  name: string;
  version: string;
  /** Its folder in the repository. */
  dir: string;
  /** The `.tgz`, named as `npm pack` names it. */
  tarball: string;
};

/** `@scope/name` at `1.2.3` gives `scope-name-1.2.3.tgz`, as `npm pack` does. */
export function tarballFileName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** The command line of the repository's own Yarn (its `yarnPath`). */
function repositoryYarn(root: string): string[] {
  const rc = fs.readFileSync(path.join(root, '.yarnrc.yml'), 'utf8');
  const yarnPath = rc.match(/^yarnPath:\s*(\S+)/m)?.[1];
  if (!yarnPath) throw new Error(`No yarnPath in ${root}/.yarnrc.yml`);
  return [process.execPath, path.join(root, yarnPath)];
}

/** The workspaces that are not private, in name order. */
async function findPublishedPackages(root: string, logFile: string) {
  const [node, yarn] = repositoryYarn(root);
  const list = await runLogged(node, [yarn, 'workspaces', 'list', '--json'], {
    cwd: root,
    env: shellEnvironment(),
    logFile,
  });
  return list
    .trim()
    .split('\n')
    .map(line => JSON.parse(line) as { location: string })
    .map(({ location }) => {
      const dir = path.join(root, location);
      const pkg = JSON.parse(
        fs.readFileSync(path.join(dir, 'package.json'), 'utf8'),
      );
      return { name: pkg.name as string, version: pkg.version, dir, pkg };
    })
    .filter(({ pkg }) => !pkg.private)
    .map(({ name, version, dir }) => ({
      name,
      version: version as string,
      dir,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Runs `pack`, after which postpack has put the package.json back. One that
 * died half-way must not leave the checkout pointing at `dist`: the
 * package.json is restored and prepack's generated schema removed.
 */
async function packRestoringManifest(
  dir: string,
  pack: () => Promise<unknown>,
) {
  const manifest = path.join(dir, 'package.json');
  const schema = path.join(dir, 'config.schema.json');
  const before = fs.readFileSync(manifest, 'utf8');
  const hadSchema = fs.existsSync(schema);
  const restore = () => {
    if (!hadSchema) fs.rmSync(schema, { force: true });
    if (fs.readFileSync(manifest, 'utf8') === before) return false;
    fs.writeFileSync(manifest, before);
    fs.rmSync(path.join(dir, 'package.json-prepack'), { force: true });
    return true;
  };
  try {
    await pack();
  } catch (error) {
    restore();
    throw error;
  }
  if (restore()) {
    throw new Error(`Packing left ${manifest} changed; it has been restored`);
  }
}

/**
 * Builds every published package of the repository and packs it into
 * `outDir`, the way a release does: `yarn tsc` for the declarations, then in
 * each package `backstage-cli package build` and `yarn pack` (which runs the
 * package's prepack and postpack: `backstage-cli package prepack` points the
 * package.json at `dist` and turns `workspace:` ranges into versions).
 */
export async function packPublishedPackages(options: {
  outDir: string;
  logFile: string;
}): Promise<PackedPackage[]> {
  const root = findRepositoryRoot();
  const [node, yarn] = repositoryYarn(root);
  const env = shellEnvironment();
  const run = (args: string[], cwd: string) =>
    runLogged(node, [yarn, ...args], { cwd, env, logFile: options.logFile });

  fs.mkdirSync(options.outDir, { recursive: true });
  const packages = await findPublishedPackages(root, options.logFile);
  await run(['tsc'], root);

  const packed: PackedPackage[] = [];
  for (const { name, version, dir } of packages) {
    await run(['backstage-cli', 'package', 'build'], dir);
    const tarball = path.join(options.outDir, tarballFileName(name, version));
    await packRestoringManifest(dir, () =>
      run(['pack', '--out', tarball], dir),
    );
    packed.push({ name, version, dir, tarball });
  }
  return packed;
}
