/*
 * `yarn pack:published DIR` (from the repository root): builds
 * every published package and packs it into DIR (relative to where the
 * command was typed), for installing into a Backstage app before the
 * packages are on a registry.
 */
import { findRepositoryRoot } from '@release-commands/test-utils';
import path from 'node:path';
import { packPublishedPackages } from './packPublishedPackages';

async function main() {
  const [target, ...rest] = process.argv.slice(2);
  if (!target || rest.length > 0) {
    throw new Error('Usage: yarn pack:published DIR');
  }
  // Yarn runs workspace scripts in the workspace; INIT_CWD is where it was typed.
  const outDir = path.resolve(process.env.INIT_CWD ?? process.cwd(), target);
  const logFile = path.join(findRepositoryRoot(), '.cache/pack-published.log');
  const packed = await packPublishedPackages({ outDir, logFile });
  for (const { tarball } of packed) process.stdout.write(`${tarball}\n`);
}

main().catch(error => {
  process.stderr.write(`pack-published: ${error.message}\n`);
  process.exitCode = 1;
});
