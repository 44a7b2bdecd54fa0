import { OutputStream, SecretMasker } from './SecretMasker';

function maskChunks(
  secrets: string[],
  chunks: Buffer[],
  stream: OutputStream = 'stdout',
): string {
  const masker = new SecretMasker(secrets);
  return (
    // Each piece decoded on its own: one ending inside a character shows.
    chunks.map(chunk => masker.push(stream, chunk).toString()).join('') +
    masker.flush(stream).toString()
  );
}

function splitAt(bytes: Buffer, points: number[]): Buffer[] {
  const bounds = [0, ...points, bytes.length];
  return bounds.slice(1).map((end, i) => bytes.subarray(bounds[i], end));
}

/**
 * Masks `text` whole, cut into two and into three chunks at every pair of
 * byte offsets (so through multi-byte characters too), and a byte at a time;
 * returns the ways of cutting that did not give `expected`.
 */
function wrongSplits(
  secrets: string[],
  text: string,
  expected: string,
): string[] {
  const bytes = Buffer.from(text);
  const splits: number[][] = [[]];
  for (let i = 0; i <= bytes.length; i++) {
    splits.push([i]);
    for (let j = i; j <= bytes.length; j++) {
      splits.push([i, j]);
    }
  }
  splits.push(Array.from({ length: bytes.length }, (_, i) => i + 1));
  return splits
    .filter(points => maskChunks(secrets, splitAt(bytes, points)) !== expected)
    .map(points => `split at ${points.join(', ')}`);
}

describe('SecretMasker', () => {
  it('masks a secret within one chunk', () => {
    expect(
      maskChunks(['hunter22'], [Buffer.from('password: hunter22\nok\n')]),
    ).toBe('password: ***\nok\n');
  });

  it('masks every occurrence whatever the chunks, a byte at a time included', () => {
    expect(
      wrongSplits(['hunter22'], 'x hunter22 y hunter22', 'x *** y ***'),
    ).toEqual([]);
    expect(
      wrongSplits(['hunter22'], 'hunter2 hunter', 'hunter2 hunter'),
    ).toEqual([]);
  });

  it('masks a secret that contains another as a whole', () => {
    expect(
      wrongSplits(['pass', 'password'], 'pass password', '*** ***'),
    ).toEqual([]);
    expect(wrongSplits(['password', 'pass'], 'passwordpass', '******')).toEqual(
      [],
    );
  });

  it('masks overlapping secrets as one, so no part of either shows', () => {
    expect(wrongSplits(['abcd', 'cdef'], '1abcdef2', '1***2')).toEqual([]);
    expect(wrongSplits(['abab'], 'x abababab y', 'x *** y')).toEqual([]);
  });

  it('masks a secret adjacent to itself twice', () => {
    expect(wrongSplits(['secret'], 'secretsecret', '******')).toEqual([]);
    expect(wrongSplits(['secret'], 'secretsecrets', '******s')).toEqual([]);
  });

  it('keeps multi-byte characters split across chunks whole, in and out of secrets', () => {
    expect(
      wrongSplits(['pé€😀s'], 'é€😀 pé€😀s 😀pé€', 'é€😀 *** 😀pé€'),
    ).toEqual([]);
    expect(wrongSplits(['hunter22'], 'café € 😀', 'café € 😀')).toEqual([]);
  });

  it('emits whole characters only, with no secrets at all too', () => {
    expect(wrongSplits([], 'é€🚀 ok 🚀€é', 'é€🚀 ok 🚀€é')).toEqual([]);
    const masker = new SecretMasker([]);
    const rocket = Buffer.from('🚀');
    for (let i = 0; i < 3; i++) {
      expect(masker.push('stdout', rocket.subarray(i, i + 1))).toHaveLength(0);
    }
    expect(masker.push('stdout', rocket.subarray(3)).toString()).toBe('🚀');
  });

  it('passes output with nothing to mask on as it came, without a copy', () => {
    for (const secrets of [[], ['hunter22']]) {
      const masker = new SecretMasker(secrets);
      const chunk = Buffer.from('an ordinary line of output, é and €\n');
      const out = masker.push('stdout', chunk);
      expect(out.buffer).toBe(chunk.buffer);
      expect(out.byteOffset).toBe(chunk.byteOffset);
      expect(out.length).toBe(chunk.length);
    }
  });

  it('takes secrets as plain text, not patterns', () => {
    const secret = 'a.b*c+(d)?[e]$^\\1';
    expect(
      wrongSplits([secret], `aXbbc(d)e ${secret}`, 'aXbbc(d)e ***'),
    ).toEqual([]);
    expect(wrongSplits(['***abc'], '**abc ***abc', '**abc ***')).toEqual([]);
  });

  it('keeps stdout and stderr apart', () => {
    const masker = new SecretMasker(['hunter22']);
    expect(masker.push('stdout', Buffer.from('hunt')).toString()).toBe('');
    expect(masker.push('stderr', Buffer.from('er22')).toString()).toBe('er22');
    expect(masker.push('stdout', Buffer.from('er')).toString()).toBe('');
    expect(masker.push('stdout', Buffer.from('22!')).toString()).toBe('***!');
    expect(masker.flush('stderr').toString()).toBe('');
    expect(masker.flush('stdout').toString()).toBe('');
  });

  it('keeps a multi-byte character split on one stream apart from the other', () => {
    const euro = Buffer.from('€');
    const masker = new SecretMasker(['hunter22']);
    expect(masker.push('stdout', euro.subarray(0, 1)).toString()).toBe('');
    expect(masker.push('stderr', Buffer.from('x')).toString()).toBe('x');
    expect(masker.push('stdout', euro.subarray(1)).toString()).toBe('€');
  });

  it('does not mask values too short to tell from output, and counts them', () => {
    const masker = new SecretMasker(['1', 'abc', '', 'abcd', 'abcd', 'no']);
    expect(SecretMasker.minSecretLength).toBe(4);
    expect(masker.unmaskedCount).toBe(3);
    expect(
      masker.push('stdout', Buffer.from('DEBUG=1 abc no abcd')).toString(),
    ).toBe('DEBUG=1 abc no ***');
    expect(new SecretMasker([]).unmaskedCount).toBe(0);
  });

  it('holds back at most one character less than the longest secret', () => {
    const secrets = ['aaaaaaab', 'hunter22'];
    const masker = new SecretMasker(secrets);
    let received = 0;
    let emitted = 0;
    for (const chunk of ['hunter2', 'a'.repeat(50), 'hunter2', 'aaa']) {
      received += chunk.length;
      emitted += masker.push('stdout', Buffer.from(chunk)).length;
      expect(received - emitted).toBeLessThanOrEqual(7);
    }
    emitted += masker.flush('stdout').length;
    expect(emitted).toBe(received);
  });

  it('emits what was held back when the stream ends, and starts over after', () => {
    const masker = new SecretMasker(['hunter22']);
    expect(masker.push('stdout', Buffer.from('ok hunter2')).toString()).toBe(
      'ok ',
    );
    expect(masker.flush('stdout').toString()).toBe('hunter2');
    expect(masker.push('stdout', Buffer.from('2 hunt')).toString()).toBe('2 ');
    expect(masker.flush('stdout').toString()).toBe('hunt');
  });

  it('ends a stream cut inside a multi-byte character with a replacement character', () => {
    const masker = new SecretMasker(['hunter22']);
    expect(
      masker.push('stdout', Buffer.from('€').subarray(0, 2)).toString(),
    ).toBe('');
    expect(masker.flush('stdout').toString()).toBe('\ufffd');
  });

  it('masks as a plain reference would, with 200 secrets and chunks cut anywhere', () => {
    const random = seededRandom(42);
    const alphabet = 'abcab-_01€';
    const pick = (length: number) =>
      Array.from(
        { length },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
    const secrets = Array.from({ length: 200 }, () => pick(4 + random() * 6));
    for (let round = 0; round < 50; round++) {
      const text = Array.from({ length: 40 }, () =>
        random() < 0.3 ? secrets[Math.floor(random() * 200)] : pick(5),
      ).join('');
      const bytes = Buffer.from(text);
      const points = [
        ...new Set(
          Array.from({ length: 8 }, () => Math.floor(random() * bytes.length)),
        ),
      ].sort((a, b) => a - b);
      expect(maskChunks(secrets, splitAt(bytes, points))).toBe(
        referenceMask(secrets, text),
      );
    }
  });

  it('masks the same with many long secrets, past the dense table', () => {
    const random = seededRandom(7);
    const alphabet = Array.from({ length: 90 }, (_, i) =>
      String.fromCharCode(33 + i),
    ).join('');
    const pick = (length: number) =>
      Array.from(
        { length },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
    // About 60,000 states by 91 classes: more than the dense table takes.
    const secrets = Array.from({ length: 300 }, () => pick(200));
    secrets.push(`${secrets[0].slice(100)}tail`);
    const text = `a ${secrets[3]} b ${secrets[0]}tail c ${secrets[5].slice(
      0,
      150,
    )}`;
    const bytes = Buffer.from(text);
    expect(maskChunks(secrets, splitAt(bytes, [50, 300, 301, 420]))).toBe(
      referenceMask(secrets, text),
    );
    expect(referenceMask(secrets, text)).toBe(
      `a *** b *** c ${secrets[5].slice(0, 150)}`,
    );
  });
});

/** Finds every occurrence the slow way, merges overlapping ones, masks. */
function referenceMask(secrets: string[], text: string): string {
  const regions: Array<[number, number]> = [];
  for (const secret of new Set(secrets)) {
    for (
      let at = text.indexOf(secret);
      at >= 0;
      at = text.indexOf(secret, at + 1)
    ) {
      regions.push([at, at + secret.length]);
    }
  }
  regions.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of regions) {
    const last = merged[merged.length - 1];
    if (last && start < last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  let output = '';
  let position = 0;
  for (const [start, end] of merged) {
    output += `${text.slice(position, start)}***`;
    position = end;
  }
  return output + text.slice(position);
}

/** A small deterministic generator (mulberry32), so failures reproduce. */
function seededRandom(seed: number): () => number {
  let value = seed;
  return () => {
    value = (value + 0x6d2b79f5) | 0;
    let t = Math.imul(value ^ (value >>> 15), 1 | value);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
