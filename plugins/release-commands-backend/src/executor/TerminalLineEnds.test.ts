import { TerminalLineEnds } from './TerminalLineEnds';

describe('TerminalLineEnds', () => {
  function normalise(chunks: string[]) {
    const lineEnds = new TerminalLineEnds();
    return (
      chunks.map(c => lineEnds.push(Buffer.from(c)).toString()).join('') +
      lineEnds.flush().toString()
    );
  }

  it("turns a terminal's \\r\\n and a program's own \\r\\r\\n into \\n", () => {
    expect(normalise(['out-1\r\nerr-2\r\n', 'done\r\r\n'])).toBe(
      'out-1\nerr-2\ndone\n',
    );
  });

  it('keeps a \\r that ends no line, as a progress bar writes it', () => {
    expect(normalise(['10%\r50%\r100%\r\n'])).toBe('10%\r50%\r100%\n');
  });

  it('holds a trailing \\r until the next chunk tells', () => {
    const lineEnds = new TerminalLineEnds();
    expect(lineEnds.push(Buffer.from('line\r')).toString()).toBe('line');
    expect(lineEnds.push(Buffer.from('\nnext\r')).toString()).toBe('\nnext');
    expect(lineEnds.push(Buffer.from('more')).toString()).toBe('\rmore');
    expect(lineEnds.push(Buffer.from('\r\r')).toString()).toBe('');
    expect(lineEnds.flush().toString()).toBe('\r\r');
    expect(lineEnds.flush().toString()).toBe('');
  });

  it('passes a chunk without \\r through as it is', () => {
    const chunk = Buffer.from('plain\ntext\n');
    expect(new TerminalLineEnds().push(chunk)).toBe(chunk);
  });

  it('leaves multi-byte characters whole', () => {
    expect(normalise(['h\u00e9\r', '\n\u2713\r\n'])).toBe('h\u00e9\n\u2713\n');
  });

  it('gives what a byte-by-byte reference gives, whatever the chunks', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const pieces = ['\r', '\n', '\r\n', '\r\r\n', 'a', 'line', '\u00e9'];
    for (let round = 0; round < 200; round++) {
      const text = Array.from(
        { length: 30 },
        () => pieces[Math.floor(random() * pieces.length)],
      ).join('');
      const bytes = Buffer.from(text);
      const chunks: string[] = [];
      for (let at = 0; at < bytes.length; ) {
        const end = Math.min(bytes.length, at + 1 + Math.floor(random() * 9));
        chunks.push(bytes.subarray(at, end).toString('latin1'));
        at = end;
      }
      const lineEnds = new TerminalLineEnds();
      const out = Buffer.concat([
        ...chunks.map(c => lineEnds.push(Buffer.from(c, 'latin1'))),
        lineEnds.flush(),
      ]);
      expect(out.toString()).toBe(referenceLineEnds(text));
    }
  });
});

/** The rule, one character at a time: `\r`s before `\n` go. */
function referenceLineEnds(text: string): string {
  let out = '';
  let held = '';
  for (const character of text) {
    if (character === '\r') held += character;
    else {
      if (character !== '\n') out += held;
      held = '';
      out += character;
    }
  }
  return out + held;
}
