import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';

export type LogPrinterOptions = {
  /** Where the log goes: stdout, or stderr when stdout carries JSON. */
  out: NodeJS.WritableStream;
  /** Where notes and the final reason go. */
  err: NodeJS.WritableStream;
  /** A terminal for the live status line; none in CI logs. */
  statusTerminal?: NodeJS.WriteStream;
  /** The labels of the run's steps, in order. */
  steps: string[];
};

/**
 * Prints a run's log as it arrives and, on a terminal, keeps one status
 * line under it (`step 2/3 Security checks 0:12`), rewritten in place. In a
 * CI log there is no status line, only the log's own plain lines.
 */
export class LogPrinter {
  private atLineStart = true;
  private statusShown = false;
  private held: string[] | undefined;
  private step: { position: number; startedAt: number } | undefined;
  private readonly waitingSince = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: LogPrinterOptions) {
    if (options.statusTerminal && options.steps.length > 0) {
      this.timer = setInterval(() => this.drawStatus(), 1000);
      this.timer.unref();
    }
  }

  print(chunk: RunLogChunk) {
    if (chunk.step !== null && chunk.step !== this.step?.position) {
      this.step = { position: chunk.step, startedAt: Date.now() };
    }
    if (this.held) {
      this.held.push(chunk.text);
    } else {
      this.writeLog(chunk.text);
    }
  }

  /** One line of the CLI's own on stderr, between log lines. */
  note(line: string) {
    this.clearStatus();
    // Where stdout and stderr share a screen or a CI log, a note must not
    // glue itself to a half-written line of output.
    if (!this.atLineStart) {
      this.options.err.write('\n');
      if (this.options.out === this.options.err) this.atLineStart = true;
    }
    this.options.err.write(`release-commands: ${line}\n`);
    this.drawStatus();
  }

  /** Keeps the log back while a question is on screen. */
  hold() {
    this.clearStatus();
    this.held ??= [];
  }

  release() {
    const text = this.held?.join('') ?? '';
    this.held = undefined;
    if (text) this.writeLog(text);
    else this.drawStatus();
  }

  close() {
    clearInterval(this.timer);
    this.release();
    this.clearStatus();
    this.closed = true;
  }

  private writeLog(text: string) {
    this.clearStatus();
    this.options.out.write(text);
    this.atLineStart = text.endsWith('\n');
    this.drawStatus();
  }

  private drawStatus() {
    const terminal = this.options.statusTerminal;
    if (!this.timer || !terminal || this.closed) return;
    if (!this.atLineStart || this.held) return;
    terminal.write(`\r\x1b[K${this.statusText((terminal.columns || 80) - 1)}`);
    this.statusShown = true;
  }

  private clearStatus() {
    if (this.statusShown) {
      this.options.statusTerminal?.write('\r\x1b[K');
      this.statusShown = false;
    }
  }

  /** `step 2/3 Security checks 0:42`, the label shortened to fit `width`. */
  private statusText(width: number): string {
    const { steps } = this.options;
    if (!this.step) {
      return `waiting for step 1/${steps.length} ${elapsed(
        this.waitingSince,
      )}`.slice(0, width);
    }
    const { position, startedAt } = this.step;
    const head = `step ${position + 1}/${steps.length} `;
    const tail = ` ${elapsed(startedAt)}`;
    const room = Math.max(0, width - head.length - tail.length);
    const label = steps[position] ?? '';
    const shown =
      label.length > room ? `${label.slice(0, Math.max(0, room - 1))}…` : label;
    return `${head}${shown}${tail}`.slice(0, width);
  }
}

/** `0:07`, `12:30`, `1:02:03`. */
function elapsed(since: number): string {
  const total = Math.floor((Date.now() - since) / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return hours > 0
    ? `${hours}:${pad(minutes)}:${pad(seconds)}`
    : `${minutes}:${pad(seconds)}`;
}

/**
 * A printer for a run's log: on stdout (stderr when stdout carries JSON),
 * with a status line when both are a terminal.
 */
export function createLogPrinter(
  run: { steps: Array<{ label: string }> },
  options: { json?: boolean },
): LogPrinter {
  const onTerminal = process.stdout.isTTY && process.stderr.isTTY;
  return new LogPrinter({
    out: options.json ? process.stderr : process.stdout,
    err: process.stderr,
    statusTerminal: !options.json && onTerminal ? process.stderr : undefined,
    steps: run.steps.map(step => step.label),
  });
}
