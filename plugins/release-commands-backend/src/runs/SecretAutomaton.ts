/** Where an occurrence of a secret starts and ends in a text, in bytes. */
export type Occurrence = { start: number; end: number };

/** Past this many table entries (4 bytes each), transitions stay sparse. */
const MAX_DENSE_ENTRIES = 1 << 22;

const ROOT = 0;

/**
 * One Aho-Corasick automaton for all of a run's secrets, so that scanning
 * output costs one table lookup per byte however many secrets there are,
 * and finds every occurrence, overlapping ones included.
 *
 * It reads the output's bytes and the secrets' UTF-8 (output is never
 * decoded to be masked), bytes grouped into the classes of those that
 * appear in some secret (every other byte leads back to the start).
 * Transitions are one dense table when it stays small; otherwise (many long
 * secrets) the trie's own edges and failure links are followed.
 */
export class SecretAutomaton {
  /** For each byte value: its class, 0 for those in no secret. */
  private readonly classes = new Uint16Array(256);
  private readonly width: number;
  /** The trie's edges, by class. */
  private readonly children: Array<Map<number, number>> = [new Map()];
  private readonly fail: Int32Array;
  /** For each state: the length of the longest secret ending there, or 0. */
  private readonly longest: Int32Array;
  /**
   * For each state: the length of the longest end of the text read so far
   * that is a proper prefix of some secret, so may still become one.
   */
  private readonly held: Int32Array;
  /**
   * `states x width` transitions, when small enough: each the row of the
   * next state (its number times `width`), complemented (negative) when a
   * secret ends there, so that the scan neither multiplies nor looks further
   * at a character that ends none.
   */
  private readonly dense: Int32Array | undefined;

  constructor(secrets: string[]) {
    let classCount = 1;
    const depth = [0];
    const terminal: number[] = [0];
    for (const value of secrets) {
      const secret = Buffer.from(value);
      let state = ROOT;
      for (let i = 0; i < secret.length; i++) {
        const code = secret[i];
        if (this.classes[code] === 0) this.classes[code] = classCount++;
        const cls = this.classes[code];
        let next = this.children[state].get(cls);
        if (next === undefined) {
          next = this.children.length;
          this.children.push(new Map());
          depth.push(depth[state] + 1);
          terminal.push(0);
          this.children[state].set(cls, next);
        }
        state = next;
      }
      terminal[state] = secret.length;
    }
    this.width = classCount;

    const states = this.children.length;
    this.fail = new Int32Array(states);
    this.longest = new Int32Array(states);
    this.held = new Int32Array(states);
    const dense =
      states * classCount <= MAX_DENSE_ENTRIES
        ? new Int32Array(states * classCount)
        : undefined;

    // Breadth first, so that every state's failure is done before it.
    const queue = [ROOT];
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head];
      const failure = this.fail[state];
      this.longest[state] = terminal[state] || this.longest[failure];
      this.held[state] =
        this.children[state].size > 0 ? depth[state] : this.held[failure];
      if (dense) {
        const row = state * classCount;
        // Where the failure goes is where this state goes, but for its edges.
        if (state !== ROOT) {
          dense.copyWithin(
            row,
            failure * classCount,
            (failure + 1) * classCount,
          );
        }
        for (const [cls, child] of this.children[state])
          dense[row + cls] = child;
      }
      for (const [cls, child] of this.children[state]) {
        this.fail[child] =
          state === ROOT ? ROOT : this.step(failure, cls, dense);
        queue.push(child);
      }
    }
    if (dense) {
      for (let i = 0; i < dense.length; i++) {
        const row = dense[i] * classCount;
        dense[i] = this.longest[dense[i]] !== 0 ? ~row : row;
      }
    }
    this.dense = dense;
  }

  /**
   * Reports each occurrence where it ends, the longest one ending at each
   * byte; returns the length of the longest end of `text` that is a proper
   * prefix of some secret.
   */
  scan(
    text: Uint8Array,
    onOccurrence: (occurrence: Occurrence) => void,
  ): number {
    const { classes, longest, dense, width } = this;
    if (dense) {
      let row = ROOT;
      for (let i = 0; i < text.length; i++) {
        let next = dense[row + classes[text[i]]];
        if (next < 0) {
          next = ~next;
          const length = longest[next / width];
          onOccurrence({ start: i + 1 - length, end: i + 1 });
        }
        row = next;
      }
      return this.held[row / width];
    }
    let state = ROOT;
    for (let i = 0; i < text.length; i++) {
      state = this.step(state, classes[text[i]], undefined);
      const length = longest[state];
      if (length !== 0) onOccurrence({ start: i + 1 - length, end: i + 1 });
    }
    return this.held[state];
  }

  /**
   * The next state, from the table while it is built (by state number) or
   * by following failures.
   */
  private step(state: number, cls: number, dense: Int32Array | undefined) {
    if (dense) return dense[state * this.width + cls];
    if (cls === 0) return ROOT;
    let at = state;
    for (;;) {
      const next = this.children[at].get(cls);
      if (next !== undefined) return next;
      if (at === ROOT) return ROOT;
      at = this.fail[at];
    }
  }
}
