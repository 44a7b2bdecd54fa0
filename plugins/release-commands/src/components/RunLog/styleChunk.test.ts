import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { styleChunk } from './styleChunk';

const chunk = (stream: RunLogChunk['stream'], text: string): RunLogChunk => ({
  seq: 1,
  step: 0,
  stream,
  at: '2026-03-01T10:00:00.000Z',
  text,
});

describe('styleChunk', () => {
  it("keeps the command's own colours, in codes LogViewer understands", () => {
    expect(styleChunk(chunk('stdout', 'plain\n'))).toBe('plain\n');
    expect(
      styleChunk(
        chunk('stdout', '  Applying 0001... \u001b[32;1mOK\u001b[0m\n'),
      ),
    ).toBe(
      '  Applying 0001... \u001b[32m\u001b[1mOK\u001b[22m\u001b[23m\u001b[24m\u001b[39m\u001b[49m\n',
    );
  });

  it("shows stderr in red and the plugin's own lines in bold, ending before the newline", () => {
    expect(styleChunk(chunk('stderr', 'checks failed.\n'))).toBe(
      '\u001b[31mchecks failed.\u001b[39m\n',
    );
    expect(styleChunk(chunk('system', '[2/3] Security checks failed\n'))).toBe(
      '\u001b[1m[2/3] Security checks failed\u001b[22m\n',
    );
    expect(styleChunk(chunk('stderr', 'partial'))).toBe(
      '\u001b[31mpartial\u001b[39m',
    );
  });
});
