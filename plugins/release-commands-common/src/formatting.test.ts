import {
  formatBytes,
  formatDuration,
  formatPeriod,
  plural,
} from './formatting';

describe('formatDuration', () => {
  it.each([
    [0, '0.0s', '0.0 s'],
    [4_200, '4.2s', '4.2 s'],
    [12_345, '12.3s', '12 s'],
    [59_940, '59.9s', '1 min'],
    [60_000, '1m 0s', '1 min'],
    [65_000, '1m 5s', '1 min 5 s'],
    [30 * 60_000, '30m 0s', '30 min'],
    [3_600_000, '1h 0m', '1 h'],
    [3_780_000, '1h 3m', '1 h 3 min'],
    [-500, '0.0s', '0.0 s'],
  ])('spells %p ms as %p (compact) and %p (spaced)', (ms, compact, spaced) => {
    expect(formatDuration(ms)).toBe(compact);
    expect(formatDuration(ms, 'compact')).toBe(compact);
    expect(formatDuration(ms, 'spaced')).toBe(spaced);
  });
});

describe('formatPeriod', () => {
  it.each([
    [90 * 86_400_000, '90 days'],
    [86_400_000, '1 day'],
    [36 * 3_600_000, '36 hours'],
    [3_600_000, '1 hour'],
    [45 * 60_000, '45 minutes'],
    [90_500, '1 min 31 s'],
  ])('spells %p ms as %p', (ms, text) => {
    expect(formatPeriod(ms)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024, '10.0 MiB'],
    [1.25 * 1024 * 1024 * 1024, '1.25 GiB'],
  ])('spells %p bytes as %p', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('plural', () => {
  it('adds an s to any count but one', () => {
    expect(plural(0, 'command')).toBe('0 commands');
    expect(plural(1, 'command')).toBe('1 command');
    expect(plural(3, 'release command')).toBe('3 release commands');
  });
});
