import {
  ReleaseCommand,
  sameCommandSettings,
} from '@release-commands/backstage-plugin-release-commands-common';

/** What a write did to a list, for audit events. */
export type CommandChanges = {
  added: string[];
  removed: string[];
  changed: string[];
  reordered: boolean;
};

/** Compares two versions of a list by command id; labels name the commands. */
export function describeCommandChanges(
  before: ReleaseCommand[],
  after: ReleaseCommand[],
): CommandChanges {
  const beforeById = new Map(before.map(c => [c.id, c]));
  const afterIds = new Set(after.map(c => c.id));
  const kept = after.filter(c => beforeById.has(c.id));
  return {
    added: after.filter(c => !beforeById.has(c.id)).map(c => c.label),
    removed: before.filter(c => !afterIds.has(c.id)).map(c => c.label),
    changed: kept
      .filter(c => !sameCommandSettings(beforeById.get(c.id)!, c))
      .map(c => c.label),
    reordered:
      kept.map(c => c.id).join() !==
      before
        .filter(c => afterIds.has(c.id))
        .map(c => c.id)
        .join(),
  };
}
