import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { RunLogLines } from './RunLogLines';

let seq = 0;
const chunk = (
  text: string,
  stream: RunLogChunk['stream'] = 'stdout',
  step: number | null = 1,
): RunLogChunk => ({ seq: ++seq, step, stream, at: '', text });

describe('RunLogLines', () => {
  it('writes whole lines, joining a line split across chunks and keeping streams apart', () => {
    const lines: string[] = [];
    const log = new RunLogLines(line => lines.push(line));

    log.push(chunk('[1/1] Migrate: migrate\n', 'system', 1));
    log.push(chunk('Applying 0001'));
    log.push(chunk('warning: slow\r\n', 'stderr'));
    log.push(chunk('_initial... OK\nApplying 0002'));
    log.push(chunk('\n\n'));
    log.push(chunk('no newline at the end'));
    expect(lines).toEqual([
      '[1/1] Migrate: migrate',
      'warning: slow',
      'Applying 0001_initial... OK',
      'Applying 0002',
      '',
    ]);

    log.flush();
    expect(lines.at(-1)).toBe('no newline at the end');
  });

  it('does not hold back a very long line forever', () => {
    const lines: string[] = [];
    const log = new RunLogLines(line => lines.push(line));
    log.push(chunk('x'.repeat(70_000)));
    expect(lines.map(l => l.length)).toEqual([70_000]);
  });
});
