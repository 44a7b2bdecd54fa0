/** Commander's collector for repeatable options (`--env A=1 --env B=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One JSON document on stdout, for scripts (`--json`). */
export function printJson(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
