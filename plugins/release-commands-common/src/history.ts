import { z } from 'zod';
import { pageLimitSchema } from './runs';
import { ReleaseCommand, sameCommandSettings } from './types';

/**
 * What a write did to a list, by the labels of the commands it touched.
 *
 * @public
 */
export type CommandChanges = {
  added: string[];
  removed: string[];
  changed: string[];
  reordered: boolean;
};

/**
 * Compares two versions of a list by command id; labels name the commands.
 *
 * @public
 */
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

/**
 * Which write made a revision: a whole list saved (`replace`), one command
 * added (`append`) or removed (`delete`), an older revision brought back
 * (`restore`), or the commands of a deleted entity dropped when a new
 * entity took its name (`rebind`).
 *
 * @public
 */
export type CommandRevisionAction =
  | 'replace'
  | 'append'
  | 'delete'
  | 'restore'
  | 'rebind';

/**
 * One revision of an entity's list: who wrote it, when, what the write
 * changed, and the whole list as it was then.
 *
 * @public
 */
export type CommandRevision = {
  entityRef: string;
  revision: number;
  action: CommandRevisionAction;
  changedBy: string | null;
  changedAt: string;
  /** For `restore`: the revision whose commands were brought back. */
  restoredFrom: number | null;
  changes: CommandChanges;
  commands: ReleaseCommand[];
};

/** A page of an entity's revisions, newest first. @public */
export type CommandRevisionPage = {
  revisions: CommandRevision[];
  /** Pass as `cursor` for the next (older) page; absent on the last. */
  nextCursor?: string;
};

/** `GET .../commands/history` query. @public */
export const listRevisionsQuerySchema = z
  .object({
    limit: pageLimitSchema.optional(),
    cursor: z
      .string()
      .regex(/^\d{1,9}$/, 'must be the nextCursor of the page before')
      .optional(),
  })
  .strict();

/**
 * `POST .../commands/history/:revision/restore`: brings an older revision's
 * commands back as a new revision; `revision` is the list's current one, as
 * for any write.
 *
 * @public
 */
export const restoreRevisionRequestSchema = z
  .object({
    revision: z
      .number()
      .int('must be a whole number')
      .min(0, 'must be a revision (0 or more)'),
  })
  .strict();

/** The body of a restore. @public */
export type RestoreRevisionRequest = z.infer<
  typeof restoreRevisionRequestSchema
>;
