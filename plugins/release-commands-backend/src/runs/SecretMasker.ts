import { Occurrence, SecretAutomaton } from './SecretAutomaton';

/** A stream of a command's output. */
export type OutputStream = 'stdout' | 'stderr';

const MASK = Buffer.from('***');
const EMPTY = Buffer.alloc(0);

type StreamState = {
  /**
   * Bytes not emitted yet: they may be the start of a secret, or of a
   * character whose other bytes are still to come.
   */
  carry: Buffer;
  /**
   * How many leading bytes of `carry` belong to a secret whose mask was
   * already emitted, so they are dropped rather than masked a second time.
   */
  maskedPrefix: number;
};

type Region = Occurrence & { alreadyMasked: boolean };

/**
 * Replaces the values of a run's variables with `***` in the command's
 * output, which arrives in arbitrary chunks: bytes that may be the start of
 * a secret are held back until the next chunk tells. Overlapping occurrences
 * of secrets are masked as one, so no part of either shows.
 *
 * Works on the output's bytes, never decoding it: what it emits ends at a
 * character boundary (the end of a character still to come is held back),
 * so that each piece can be decoded on its own, and output with nothing to
 * mask is passed on without a copy.
 */
export class SecretMasker {
  /** Shorter values cannot be told apart from ordinary output (`DEBUG=1`). */
  static readonly minSecretLength = 4;

  /** All the secrets at once, or none when there is nothing to mask. */
  private readonly automaton: SecretAutomaton | undefined;
  private readonly tooShort: number;
  private readonly streams = {
    stdout: newStreamState(),
    stderr: newStreamState(),
  };

  constructor(secrets: string[]) {
    const values = secrets.filter(value => value.length > 0);
    const masked = values.filter(
      value => value.length >= SecretMasker.minSecretLength,
    );
    this.tooShort = values.length - masked.length;
    this.automaton =
      masked.length > 0 ? new SecretAutomaton([...new Set(masked)]) : undefined;
  }

  /** How many non-empty values are too short to be masked. */
  get unmaskedCount(): number {
    return this.tooShort;
  }

  /** Returns the bytes that are safe to emit now, possibly none. */
  push(stream: OutputStream, chunk: Buffer): Buffer {
    const state = this.streams[stream];
    const bytes =
      state.carry.length > 0 ? Buffer.concat([state.carry, chunk]) : chunk;
    return this.mask(state, bytes, false);
  }

  /** At the end of a stream: returns what was held back, masked. */
  flush(stream: OutputStream): Buffer {
    const state = this.streams[stream];
    this.streams[stream] = newStreamState();
    return this.mask(state, state.carry, true);
  }

  /** Masks a whole text at once, such as a line of the plugin's own. */
  maskText(text: string): string {
    return this.mask(newStreamState(), Buffer.from(text), true).toString();
  }

  private mask(state: StreamState, bytes: Buffer, final: boolean): Buffer {
    // Merged as they are found, so no part of overlapping secrets shows.
    const regions: Region[] = [];
    if (state.maskedPrefix > 0) {
      regions.push({ start: 0, end: state.maskedPrefix, alreadyMasked: true });
    }
    const partial =
      this.automaton?.scan(bytes, occurrence =>
        addMerged(regions, occurrence),
      ) ?? 0;
    const cut = final
      ? bytes.length
      : Math.min(bytes.length - partial, completeLength(bytes));

    const parts: Buffer[] = [];
    let position = 0;
    let maskedPrefix = 0;
    for (const region of regions) {
      if (region.start >= cut && !region.alreadyMasked) {
        break;
      }
      if (region.start > position) {
        parts.push(bytes.subarray(position, region.start));
      }
      if (!region.alreadyMasked) {
        parts.push(MASK);
      }
      position = Math.min(region.end, cut);
      maskedPrefix = Math.max(region.end - cut, 0);
    }
    if (cut > position) parts.push(bytes.subarray(position, cut));

    // A copy: a few bytes should not keep the whole chunk alive.
    state.carry = cut < bytes.length ? Buffer.from(bytes.subarray(cut)) : EMPTY;
    state.maskedPrefix = maskedPrefix;
    if (parts.length === 0) return EMPTY;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}

function newStreamState(): StreamState {
  return { carry: EMPTY, maskedPrefix: 0 };
}

/**
 * How many leading bytes of `bytes` are whole UTF-8 characters: all but a
 * sequence at the end that its lead byte says is incomplete.
 */
function completeLength(bytes: Buffer): number {
  const end = bytes.length;
  // A character is at most 4 bytes: its lead byte is at most 3 back.
  for (let at = end - 1; at >= 0 && at >= end - 3; at--) {
    const byte = bytes[at];
    // Continuation bytes look like 10xxxxxx; anything else starts one.
    if ((byte & 0xc0) !== 0x80) {
      let length = 1;
      if (byte >= 0xf0) length = 4;
      else if (byte >= 0xe0) length = 3;
      else if (byte >= 0xc0) length = 2;
      return at + length > end ? at : end;
    }
  }
  return end;
}

/**
 * Adds an occurrence to regions sorted and apart, merging it with those it
 * overlaps. Occurrences come in the order they end, so only the last regions
 * can overlap it; adjacent ones (`secretsecret`) stay apart.
 */
function addMerged(regions: Region[], occurrence: Occurrence) {
  const merged: Region = { ...occurrence, alreadyMasked: false };
  while (regions.length > 0) {
    const last = regions[regions.length - 1];
    if (merged.start >= last.end) break;
    regions.pop();
    merged.start = Math.min(merged.start, last.start);
    merged.end = Math.max(merged.end, last.end);
    merged.alreadyMasked ||= last.alreadyMasked;
  }
  regions.push(merged);
}
