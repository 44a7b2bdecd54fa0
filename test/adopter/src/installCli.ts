import { shellEnvironment } from '@release-commands/test-utils';
import fs from 'node:fs';
import path from 'node:path';
import { PackedPackage } from './packPublishedPackages';
import { runLogged } from './runLogged';

const CLI = '@release-commands/cli';
const COMMON = '@release-commands/backstage-plugin-release-commands-common';

/**
 * `npm install --global` of the CLI's tarball and the common package's (the
 * one package of ours it depends on), into `prefix` instead of the machine's
 * global folder. Returns the path of the `release-commands` it installs.
 */
export async function installCli(options: {
  packed: PackedPackage[];
  prefix: string;
  logFile: string;
}): Promise<string> {
  const tarball = (name: string) => {
    const pkg = options.packed.find(p => p.name === name);
    if (!pkg) throw new Error(`${name} was not packed`);
    return pkg.tarball;
  };
  fs.mkdirSync(options.prefix, { recursive: true });
  const env = shellEnvironment();
  env.PATH = [path.dirname(process.execPath), env.PATH].join(path.delimiter);
  await runLogged(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      options.prefix,
      '--no-audit',
      '--no-fund',
      tarball(COMMON),
      tarball(CLI),
    ],
    { cwd: options.prefix, env, logFile: options.logFile },
  );
  return path.join(options.prefix, 'bin', 'release-commands');
}
