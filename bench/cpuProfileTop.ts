import fs from 'node:fs';
import path from 'node:path';

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};

/**
 * The functions a V8 CPU profile (`node --cpu-prof`) spent most of its
 * samples in, by self time, as lines to print: where the main thread goes.
 */
export function cpuProfileTop(file: string, count = 15): string[] {
  const profile: Profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map(node => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url
      ? `${path.basename(url.replace(/\?.*$/, ''))}:${lineNumber + 1}`
      : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + delta);
    total += delta;
  });
  const idle = (self.get('(idle)') ?? 0) / total;
  return [
    `busy ${((1 - idle) * 100).toFixed(0)}% of ${(total / 1e6).toFixed(
      1,
    )} s sampled; top frames by self time:`,
    ...[...self.entries()]
      .filter(([key]) => key !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(
        ([key, micros]) =>
          `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${key}`,
      ),
  ];
}

/** The newest profile written to `dir`. */
export function newestCpuProfile(dir: string): string | undefined {
  const files = fs
    .readdirSync(dir)
    .filter(name => name.endsWith('.cpuprofile'))
    .map(name => path.join(dir, name))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0];
}
