import {
  CommandChanges,
  CommandRevision,
} from '@release-commands/backstage-plugin-release-commands-common';

/** The write that made a revision, as a sentence. */
export function describeWrite(revision: CommandRevision): string {
  switch (revision.action) {
    case 'replace':
      return 'Saved the list';
    case 'append':
      return 'Added a command';
    case 'delete':
      return 'Removed a command';
    case 'restore':
      return revision.restoredFrom === null
        ? 'Restored an older revision'
        : `Restored revision ${revision.restoredFrom}`;
    case 'rebind':
      return 'Dropped the commands of a deleted entity';
    default:
      return revision.action;
  }
}

/** What a write changed, by label: `added Migrate; changed Check; reordered`. */
export function describeChanges(changes: CommandChanges): string {
  const parts = [
    ...(changes.added.length ? [`added ${changes.added.join(', ')}`] : []),
    ...(changes.removed.length
      ? [`removed ${changes.removed.join(', ')}`]
      : []),
    ...(changes.changed.length
      ? [`changed ${changes.changed.join(', ')}`]
      : []),
    ...(changes.reordered ? ['reordered'] : []),
  ];
  return parts.join('; ') || 'no change to the commands';
}
