import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';

/** A line without an end this long is written as it is, not held forever. */
const MAX_PENDING_LINE = 64 * 1024;

/**
 * Turns a run's log chunks into the task log's entries, which are lines:
 * output arrives in pieces that can end mid-line, so the unfinished end of
 * each step's stream waits for the rest.
 */
export class RunLogLines {
  private readonly pending = new Map<string, string>();

  constructor(private readonly writeLine: (line: string) => void) {}

  push(chunk: RunLogChunk): void {
    const key = `${chunk.step}:${chunk.stream}`;
    const lines = ((this.pending.get(key) ?? '') + chunk.text).split('\n');
    const rest = lines.pop()!;
    lines.forEach(line => this.write(line));
    if (rest.length >= MAX_PENDING_LINE) {
      this.write(rest);
      this.pending.delete(key);
    } else if (rest) {
      this.pending.set(key, rest);
    } else {
      this.pending.delete(key);
    }
  }

  /** Writes what is left once the run has ended. */
  flush(): void {
    for (const rest of this.pending.values()) {
      this.write(rest);
    }
    this.pending.clear();
  }

  private write(line: string) {
    this.writeLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
