/** A timestamp column as the drivers hand it back. */
export type TimestampValue = Date | string | number;

/**
 * PostgreSQL returns Date objects; SQLite returns what knex stored, which is
 * milliseconds since the epoch for a Date binding.
 */
export function toIsoString(value: TimestampValue): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return new Date(value).toISOString();
  return new Date(/^\d+$/.test(value) ? Number(value) : value).toISOString();
}

export function toOptionalIsoString(
  value: TimestampValue | null | undefined,
): string | null {
  return value === null || value === undefined ? null : toIsoString(value);
}
