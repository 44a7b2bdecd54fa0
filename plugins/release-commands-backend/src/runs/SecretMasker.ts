import { StringDecoder } from 'node:string_decoder';

/** A stream of a command's output. */
export type OutputStream = 'stdout' | 'stderr';

const MASK = '***';

type StreamState = {
  decoder: StringDecoder;
  /** Text not emitted yet because it may be the start of a secret. */
  carry: string;
  /**
   * How many leading characters of `carry` belong to a secret whose mask was
   * already emitted, so they are dropped rather than masked a second time.
   */
  maskedPrefix: number;
};

type Region = { start: number; end: number; alreadyMasked: boolean };

/**
 * A secret with its Knuth-Morris-Pratt table, so that finding it, overlaps
 * included, takes time linear in the text whatever the secret looks like.
 */
class SecretPattern {
  /** For each prefix, the length of its longest proper prefix-suffix. */
  private readonly fallback: Int32Array;

  constructor(private readonly value: string) {
    this.fallback = new Int32Array(value.length);
    let matched = 0;
    for (let i = 1; i < value.length; i++) {
      matched = this.advance(matched, value.charCodeAt(i));
      this.fallback[i] = matched;
    }
  }

  get length(): number {
    return this.value.length;
  }

  /**
   * Reports where each occurrence starts, and returns the length of the
   * longest end of `text` that is a proper prefix of the secret.
   */
  scan(text: string, onOccurrence: (start: number) => void): number {
    let matched = 0;
    for (let i = 0; i < text.length; i++) {
      matched = this.advance(matched, text.charCodeAt(i));
      if (matched === this.value.length) {
        onOccurrence(i + 1 - matched);
        matched = this.fallback[matched - 1];
      }
    }
    return matched;
  }

  private advance(matched: number, code: number): number {
    let length = matched;
    while (length > 0 && code !== this.value.charCodeAt(length)) {
      length = this.fallback[length - 1];
    }
    return code === this.value.charCodeAt(length) ? length + 1 : length;
  }
}

/**
 * Replaces the values of a run's variables with `***` in the command's
 * output, which arrives in arbitrary chunks: text that may be the start of a
 * secret is held back until the next chunk tells. Overlapping occurrences of
 * secrets are masked as one, so no part of either shows.
 */
export class SecretMasker {
  /** Shorter values cannot be told apart from ordinary output (`DEBUG=1`). */
  static readonly minSecretLength = 4;

  private readonly secrets: SecretPattern[];
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
    this.secrets = [...new Set(masked)].map(value => new SecretPattern(value));
  }

  /** How many non-empty values are too short to be masked. */
  get unmaskedCount(): number {
    return this.tooShort;
  }

  /** Returns the text that is safe to emit now, possibly none. */
  push(stream: OutputStream, chunk: Buffer): string {
    const state = this.streams[stream];
    return this.mask(state, state.carry + state.decoder.write(chunk), false);
  }

  /** At the end of a stream: returns what was held back, masked. */
  flush(stream: OutputStream): string {
    const state = this.streams[stream];
    this.streams[stream] = newStreamState();
    return this.mask(state, state.carry + state.decoder.end(), true);
  }

  /** Masks a whole text at once, such as a line of the plugin's own. */
  maskText(text: string): string {
    return this.mask(newStreamState(), text, true);
  }

  private mask(state: StreamState, text: string, final: boolean): string {
    const occurrences: Region[] = [];
    if (state.maskedPrefix > 0) {
      occurrences.push({
        start: 0,
        end: state.maskedPrefix,
        alreadyMasked: true,
      });
    }
    let cut = text.length;
    for (const secret of this.secrets) {
      const partial = secret.scan(text, start =>
        occurrences.push({
          start,
          end: start + secret.length,
          alreadyMasked: false,
        }),
      );
      if (!final) {
        cut = Math.min(cut, text.length - partial);
      }
    }

    let output = '';
    let position = 0;
    let maskedPrefix = 0;
    for (const region of mergeOverlapping(occurrences)) {
      if (region.start >= cut && !region.alreadyMasked) {
        break;
      }
      output += text.slice(position, region.start);
      if (!region.alreadyMasked) {
        output += MASK;
      }
      position = Math.min(region.end, cut);
      maskedPrefix = Math.max(region.end - cut, 0);
    }
    output += text.slice(position, cut);

    state.carry = text.slice(cut);
    state.maskedPrefix = maskedPrefix;
    return output;
  }
}

function newStreamState(): StreamState {
  return { decoder: new StringDecoder('utf8'), carry: '', maskedPrefix: 0 };
}

/** Adjacent occurrences (`secretsecret`) stay apart: they do not overlap. */
function mergeOverlapping(regions: Region[]): Region[] {
  const merged: Region[] = [];
  for (const region of [...regions].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && region.start < last.end) {
      last.end = Math.max(last.end, region.end);
      last.alreadyMasked ||= region.alreadyMasked;
    } else {
      merged.push({ ...region });
    }
  }
  return merged;
}
