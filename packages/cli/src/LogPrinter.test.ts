import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { LogPrinter } from './LogPrinter';

function stream(columns?: number) {
  const writes: string[] = [];
  return {
    writes,
    text: () => writes.join(''),
    stream: {
      columns,
      write: (text: string) => writes.push(text) > 0,
    } as unknown as NodeJS.WriteStream,
  };
}

const chunk = (
  seq: number,
  step: number | null,
  text: string,
): RunLogChunk => ({
  seq,
  step,
  stream: step === null ? 'system' : 'stdout',
  at: new Date().toISOString(),
  text,
});

describe('LogPrinter', () => {
  it('prints only the log and its own notes in a CI log', () => {
    const out = stream();
    const err = stream();
    const printer = new LogPrinter({
      out: out.stream,
      err: err.stream,
      steps: ['Migrate'],
    });
    printer.print(chunk(0, null, '===== docker release commands =====\n'));
    printer.print(chunk(1, 0, 'partial'));
    printer.note('the log stream broke; reconnecting');
    printer.print(chunk(2, 0, ' line\n'));
    printer.close();
    expect(out.text()).toBe(
      '===== docker release commands =====\npartial line\n',
    );
    // A note never glues itself to a half-written line of output.
    expect(err.text()).toBe(
      '\nrelease-commands: the log stream broke; reconnecting\n',
    );
  });

  it('keeps a status line under the log on a terminal, and holds the log during a question', () => {
    const out = stream();
    const terminal = stream(40);
    const printer = new LogPrinter({
      out: out.stream,
      err: terminal.stream,
      statusTerminal: terminal.stream,
      steps: ['Migrate database', 'Security checks that have a long label'],
    });
    printer.print(chunk(0, null, 'heading\n'));
    expect(terminal.writes.at(-1)).toBe('\r\x1b[Kwaiting for step 1/2 0:00');
    printer.print(chunk(1, 1, '[2/2] Security checks\n'));
    expect(terminal.writes.at(-1)).toBe(
      '\r\x1b[Kstep 2/2 Security checks that hav… 0:00',
    );
    printer.hold();
    printer.print(chunk(2, 1, 'held back\n'));
    expect(out.text()).not.toContain('held back');
    printer.release();
    expect(out.text()).toBe('heading\n[2/2] Security checks\nheld back\n');
    printer.close();
    expect(terminal.writes.at(-1)).toBe('\r\x1b[K');
  });
});
