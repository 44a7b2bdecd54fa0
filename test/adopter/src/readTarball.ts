import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What a package tarball holds, as a registry would serve it. */
export type TarballContents = {
  manifest: Record<string, any>;
  /** Paths inside the package (without npm's `package/` prefix), sorted. */
  files: string[];
  read(file: string): string;
};

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap(entry =>
      entry.isDirectory()
        ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
        : [`${prefix}${entry.name}`],
    );
}

/** Unpacks a `.tgz` made by `yarn pack` under `workDir` and reads it. */
export function readTarball(tarball: string, workDir: string): TarballContents {
  const dir = path.join(workDir, path.basename(tarball, '.tgz'));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  const root = path.join(dir, 'package');
  const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
  return {
    manifest: JSON.parse(read('package.json')),
    files: listFiles(root).sort(),
    read,
  };
}
