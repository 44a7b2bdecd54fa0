const CR = 0x0d;
const LF = 0x0a;

/**
 * Turns a terminal's line ends back into `\n`. A pseudo-terminal writes
 * every `\n` as `\r\n` (and a program's own `\r\n` as `\r\r\n`); a `\r`
 * that ends no line, as progress bars write it, is kept. A chunk's trailing
 * `\r`s are held until the next chunk says whether a `\n` follows.
 *
 * Works on bytes: `\r` and `\n` never occur inside a UTF-8 sequence.
 */
export class TerminalLineEnds {
  private pendingCarriageReturns = 0;

  push(chunk: Buffer): Buffer {
    let held = this.pendingCarriageReturns;
    if (held === 0 && !chunk.includes(CR)) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + held);
    let length = 0;
    let at = 0;
    // Copies the runs between carriage returns whole: no loop over bytes.
    while (at < chunk.length) {
      const next = chunk.indexOf(CR, at);
      const end = next < 0 ? chunk.length : next;
      if (end > at) {
        // Carriage returns before a line feed end the line; others stay.
        if (held > 0 && chunk[at] !== LF) {
          out.fill(CR, length, length + held);
          length += held;
        }
        held = 0;
        length += chunk.copy(out, length, at, end);
        at = end;
      }
      while (at < chunk.length && chunk[at] === CR) {
        held++;
        at++;
      }
    }
    this.pendingCarriageReturns = held;
    return out.subarray(0, length);
  }

  /** What is still held back: the output ended on `\r`. */
  flush(): Buffer {
    const rest = Buffer.alloc(this.pendingCarriageReturns, CR);
    this.pendingCarriageReturns = 0;
    return rest;
  }
}
