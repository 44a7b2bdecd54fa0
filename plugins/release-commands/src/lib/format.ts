import { formatDuration } from '@release-commands/backstage-plugin-release-commands-common';

/** A timeout in whole seconds, as a person reads it: `30 min`, `90 s`. */
export function formatTimeout(seconds: number): string {
  return formatDuration(seconds * 1000, 'spaced');
}

/** How long something took, or has taken so far when it has not finished. */
export function elapsed(
  startedAt: string | null,
  finishedAt: string | null,
  now: number = Date.now(),
): string {
  if (!startedAt) return '';
  const end = finishedAt ? Date.parse(finishedAt) : now;
  return formatDuration(end - Date.parse(startedAt), 'spaced');
}

export function formatTime(iso: string | null): string {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: 'medium',
  });
}
