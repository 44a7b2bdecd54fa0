/**
 * How {@link formatDuration} spells a duration: `compact` for log lines and
 * command lines (`4.2s`, `2m 5s`, `1h 3m`), `spaced` for tables and forms
 * (`4.2 s`, `2 min 5 s`, `30 min`, `1 h`).
 *
 * @public
 */
export type DurationStyle = 'compact' | 'spaced';

const DURATION_STYLES: Record<
  DurationStyle,
  {
    /** Below this, tenths of a second are shown. */
    tenthsBelowMs: number;
    units: { h: string; m: string; s: string };
    /** `30m 0s` rather than `30 min`: log lines keep a steady shape. */
    keepZero: boolean;
  }
> = {
  compact: {
    tenthsBelowMs: 60_000,
    units: { h: 'h', m: 'm', s: 's' },
    keepZero: true,
  },
  spaced: {
    tenthsBelowMs: 10_000,
    units: { h: ' h', m: ' min', s: ' s' },
    keepZero: false,
  },
};

/**
 * A short duration for people, in two units at most: `4.2s`, `2m 5s`,
 * `1h 3m` (`compact`, the default), or `4.2 s`, `2 min 5 s`, `1 h`
 * (`spaced`). Negative durations (clock skew) read as zero.
 *
 * @public
 */
export function formatDuration(
  ms: number,
  style: DurationStyle = 'compact',
): string {
  const { tenthsBelowMs, units, keepZero } = DURATION_STYLES[style];
  const clamped = Math.max(0, ms);
  if (clamped < tenthsBelowMs) {
    return `${(clamped / 1000).toFixed(1)}${units.s}`;
  }
  const total = Math.round(clamped / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const [big, bigUnit, small, smallUnit] =
    hours > 0
      ? [hours, units.h, minutes, units.m]
      : [minutes, units.m, seconds, units.s];
  if (big === 0) return `${small}${smallUnit}`;
  return small > 0 || keepZero
    ? `${big}${bigUnit} ${small}${smallUnit}`
    : `${big}${bigUnit}`;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * A long span for people, in the largest unit that counts it whole:
 * `90 days`, `36 hours`, `45 minutes`; anything else as
 * {@link formatDuration} spells it (`spaced`).
 *
 * @public
 */
export function formatPeriod(ms: number): string {
  for (const [unitMs, noun] of [
    [DAY_MS, 'day'],
    [HOUR_MS, 'hour'],
    [MINUTE_MS, 'minute'],
  ] as const) {
    if (ms >= unitMs && ms % unitMs === 0) return plural(ms / unitMs, noun);
  }
  return formatDuration(ms, 'spaced');
}

/**
 * A size in bytes for people: `512 B`, `1.5 KiB`, `10.0 MiB`, `1.25 GiB`.
 *
 * @public
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) {
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  }
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/**
 * A count with its noun: `1 command`, `3 commands`, `0 commands`.
 *
 * @public
 */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
