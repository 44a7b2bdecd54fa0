import { ConfigReader } from '@backstage/config';
import { DEFAULT_RUN_RETENTION_MS, readRunRetention } from './readRunRetention';

const DAY_MS = 86_400_000;

describe('readRunRetention', () => {
  const read = (retention: unknown) =>
    readRunRetention(
      new ConfigReader({ releaseCommands: { runs: { retention } } } as any),
    );

  it('keeps runs for 90 days when the config says nothing', () => {
    expect(readRunRetention(new ConfigReader({}))).toBe(90 * DAY_MS);
    expect(DEFAULT_RUN_RETENTION_MS).toBe(90 * DAY_MS);
  });

  it.each([
    ['30d', 30 * DAY_MS],
    ['2 weeks', 14 * DAY_MS],
    ['P1Y', 365 * DAY_MS],
    ['PT12H', DAY_MS / 2],
    [{ days: 7, hours: 12 }, 7.5 * DAY_MS],
    [{ months: 3 }, 90 * DAY_MS],
  ])('reads %p as %p ms', (retention, ms) => {
    expect(read(retention)).toBe(ms);
  });

  it('keeps every run when set to false', () => {
    expect(read(false)).toBeNull();
  });

  it.each([
    [true, /must be a duration such as 90d.*or false.*got true/],
    [90, /must be a duration such as 90d.*got 90/],
    ['soon', /Invalid duration 'soon'/],
    [{ dayz: 3 }, /Needs one or more of 'years'/],
    ['10m', /must be at least 1 hour.*got 10 minutes\. Use false/],
    [{ days: 0 }, /must be at least 1 hour/],
  ])('refuses %p with a clear message', (retention, message) => {
    expect(() => read(retention)).toThrow(message);
  });
});
