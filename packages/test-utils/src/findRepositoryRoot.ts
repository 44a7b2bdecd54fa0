import fs from 'node:fs';
import path from 'node:path';

/**
 * The checkout a test runs in: the nearest folder above `from` (by default
 * the working directory, which Jest sets to the package or the root) that has
 * the repository's `.yarnrc.yml`.
 */
export function findRepositoryRoot(from: string = process.cwd()): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, '.yarnrc.yml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No repository root above ${from}`);
    dir = parent;
  }
  return dir;
}
