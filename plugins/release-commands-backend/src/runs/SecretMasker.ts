import { StringDecoder } from 'node:string_decoder';
import { Occurrence, SecretAutomaton } from './SecretAutomaton';

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

type Region = Occurrence & { alreadyMasked: boolean };

/**
 * Replaces the values of a run's variables with `***` in the command's
 * output, which arrives in arbitrary chunks: text that may be the start of a
 * secret is held back until the next chunk tells. Overlapping occurrences of
 * secrets are masked as one, so no part of either shows.
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
    // Merged as they are found, so no part of overlapping secrets shows.
    const regions: Region[] = [];
    if (state.maskedPrefix > 0) {
      regions.push({ start: 0, end: state.maskedPrefix, alreadyMasked: true });
    }
    const partial =
      this.automaton?.scan(text, occurrence =>
        addMerged(regions, occurrence),
      ) ?? 0;
    const cut = final ? text.length : text.length - partial;

    let output = '';
    let position = 0;
    let maskedPrefix = 0;
    for (const region of regions) {
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
