import { DatabaseService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  CommandChanges,
  CommandInput,
  CommandRevision,
  CommandRevisionAction,
  CommandSource,
  describeCommandChanges,
  MAX_COMMANDS_PER_ENTITY,
  ReleaseCommand,
  sameCommandSettings,
} from '@release-commands/backstage-plugin-release-commands-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { lockRows } from './lockRows';
import { migratedClient } from './migrateDatabase';
import { TimestampValue, toIsoString } from './timestamps';
import {
  AppendResult,
  NewCommand,
  ReleaseCommandsStore,
  StoredCommandList,
  WrittenCommandList,
} from './ReleaseCommandsStore';

const LISTS = 'release_command_lists';
const COMMANDS = 'release_commands';
const REVISIONS = 'release_command_revisions';

type RevisionRow = {
  entity_ref: string;
  revision: number;
  action: CommandRevisionAction;
  changed_by: string | null;
  changed_at: TimestampValue;
  restored_from: number | null;
  changes: string;
  commands: string;
};

type CommandRow = {
  id: string;
  entity_ref: string;
  position: number;
  label: string;
  command: string;
  source: CommandSource;
  enabled: boolean | number;
  timeout_seconds: number | null;
  created_by: string | null;
  created_at: TimestampValue;
  updated_by: string | null;
  updated_at: TimestampValue;
};

/** The knex implementation of {@link ReleaseCommandsStore}. */
export class DatabaseReleaseCommandsStore implements ReleaseCommandsStore {
  static async create(options: {
    database: DatabaseService;
  }): Promise<DatabaseReleaseCommandsStore> {
    return new DatabaseReleaseCommandsStore(
      await migratedClient(options.database),
    );
  }

  private constructor(private readonly db: Knex) {}

  async getCommands(entityRef: string): Promise<StoredCommandList> {
    return readList(this.db, entityRef);
  }

  async bindToEntity(options: {
    entityRef: string;
    entityUid: string;
    actor: string;
  }): Promise<{ removed: number }> {
    const { entityRef, entityUid, actor } = options;
    // Nearly always already bound: one read, no write.
    const bound = await this.db(LISTS)
      .where({ entity_ref: entityRef })
      .first('entity_uid');
    if (bound?.entity_uid === entityUid) return { removed: 0 };
    return this.db.transaction(async tx => {
      await lockList(tx, entityRef);
      const row = await tx(LISTS)
        .where({ entity_ref: entityRef })
        .first('entity_uid');
      if (row.entity_uid === entityUid) return { removed: 0 };
      let removed = 0;
      if (row.entity_uid !== null && row.entity_uid !== undefined) {
        const before = await readList(tx, entityRef);
        removed = await tx(COMMANDS).where({ entity_ref: entityRef }).delete();
        await bumpRevision(tx, entityRef, 'current', actor);
        await recordRevision(tx, entityRef, before, 'rebind', actor);
      }
      await tx(LISTS)
        .where({ entity_ref: entityRef })
        .update({ entity_uid: entityUid });
      return { removed };
    });
  }

  async replaceCommands(options: {
    entityRef: string;
    revision: number;
    commands: CommandInput[];
    actor: string;
  }): Promise<WrittenCommandList> {
    const { entityRef, revision, commands, actor } = options;
    return this.db.transaction(async tx => {
      await bumpRevision(tx, entityRef, revision, actor);
      const previous = await readList(tx, entityRef);
      const existing = new Map(previous.commands.map(c => [c.id, c]));
      const now = new Date().toISOString();
      const seen = new Set<string>();
      const rows = commands.map((input, position) => {
        const before = input.id ? existing.get(input.id) : undefined;
        if (input.id && !before) {
          throw new InputError(
            `commands.${position}.id ${input.id} is not one of the commands of ${entityRef}`,
          );
        }
        if (input.id && seen.has(input.id)) {
          throw new InputError(
            `commands.${position}.id ${input.id} appears more than once`,
          );
        }
        if (input.id) seen.add(input.id);
        const settings = {
          label: input.label,
          command: input.command,
          enabled: input.enabled ?? before?.enabled ?? true,
          timeoutSeconds:
            input.timeoutSeconds === undefined
              ? before?.timeoutSeconds ?? null
              : input.timeoutSeconds,
        };
        if (before && sameCommandSettings(before, settings)) {
          return toRow(entityRef, before, position);
        }
        return toRow(
          entityRef,
          {
            ...settings,
            id: before?.id ?? randomUUID(),
            source: before?.source ?? 'user',
            createdBy: before ? before.createdBy : actor,
            createdAt: before?.createdAt ?? now,
            updatedBy: actor,
            updatedAt: now,
          },
          position,
        );
      });
      await rewriteCommands(tx, entityRef, rows);
      const { list, changes } = await recordRevision(
        tx,
        entityRef,
        previous,
        'replace',
        actor,
      );
      return { ...list, changes };
    });
  }

  async appendCommand(options: {
    entityRef: string;
    command: NewCommand;
    actor: string;
  }): Promise<AppendResult> {
    const { entityRef, command, actor } = options;
    return this.db.transaction(async tx => {
      await lockList(tx, entityRef);
      const list = await readList(tx, entityRef);
      const same = list.commands.find(
        c => c.source === command.source && c.command === command.command,
      );
      if (same) {
        return { command: same, created: false, list };
      }
      if (list.commands.length >= MAX_COMMANDS_PER_ENTITY) {
        throw new InputError(
          `${entityRef} already has ${MAX_COMMANDS_PER_ENTITY} commands, the most an entity can have`,
        );
      }
      await bumpRevision(tx, entityRef, 'current', actor);
      const now = new Date().toISOString();
      const id = randomUUID();
      await tx(COMMANDS).insert(
        toRow(
          entityRef,
          {
            id,
            label: command.label,
            command: command.command,
            source: command.source,
            enabled: command.enabled ?? true,
            timeoutSeconds: command.timeoutSeconds ?? null,
            createdBy: actor,
            createdAt: now,
            updatedBy: actor,
            updatedAt: now,
          },
          list.commands.length,
        ),
      );
      const { list: after } = await recordRevision(
        tx,
        entityRef,
        list,
        'append',
        actor,
      );
      return {
        command: after.commands.find(c => c.id === id)!,
        created: true,
        list: after,
      };
    });
  }

  async deleteCommand(options: {
    entityRef: string;
    id: string;
    actor: string;
  }): Promise<StoredCommandList> {
    const { entityRef, id, actor } = options;
    return this.db.transaction(async tx => {
      await lockList(tx, entityRef);
      const list = await readList(tx, entityRef);
      if (!list.commands.some(c => c.id === id)) {
        throw new NotFoundError(`${entityRef} has no command ${id}`);
      }
      await bumpRevision(tx, entityRef, 'current', actor);
      const rest = list.commands.filter(c => c.id !== id);
      await rewriteCommands(
        tx,
        entityRef,
        rest.map((c, position) => toRow(entityRef, c, position)),
      );
      return (await recordRevision(tx, entityRef, list, 'delete', actor)).list;
    });
  }

  async listRevisions(
    entityRef: string,
    options: { limit: number; before?: number },
  ): Promise<{ revisions: CommandRevision[]; more: boolean }> {
    const rows: RevisionRow[] = await this.db(REVISIONS)
      .where({ entity_ref: entityRef })
      .modify(query => {
        if (options.before !== undefined) {
          query.where('revision', '<', options.before);
        }
      })
      .orderBy('revision', 'desc')
      .limit(options.limit + 1);
    return {
      revisions: rows.slice(0, options.limit).map(fromRevisionRow),
      more: rows.length > options.limit,
    };
  }

  async restoreRevision(options: {
    entityRef: string;
    revision: number;
    from: number;
    actor: string;
  }): Promise<WrittenCommandList> {
    const { entityRef, revision, from, actor } = options;
    return this.db.transaction(async tx => {
      await bumpRevision(tx, entityRef, revision, actor);
      const source: RevisionRow | undefined = await tx(REVISIONS)
        .where({ entity_ref: entityRef, revision: from })
        .first();
      if (!source) {
        throw new NotFoundError(`${entityRef} has no revision ${from}`);
      }
      const before = await readList(tx, entityRef);
      const current = new Map(before.commands.map(c => [c.id, c]));
      const now = new Date().toISOString();
      const restored: ReleaseCommand[] = JSON.parse(source.commands);
      await rewriteCommands(
        tx,
        entityRef,
        restored.map((command, position) => {
          const kept = current.get(command.id);
          return toRow(
            entityRef,
            kept && sameCommandSettings(kept, command)
              ? kept
              : { ...command, updatedBy: actor, updatedAt: now },
            position,
          );
        }),
      );
      const { list, changes } = await recordRevision(
        tx,
        entityRef,
        before,
        'restore',
        actor,
        from,
      );
      return { ...list, changes };
    });
  }
}

/**
 * Keeps the list as the write in `tx` left it as a new revision, with what
 * changed since `before`; returns the list and those changes.
 */
async function recordRevision(
  tx: Knex.Transaction,
  entityRef: string,
  before: StoredCommandList,
  action: CommandRevisionAction,
  actor: string,
  restoredFrom: number | null = null,
): Promise<{ list: StoredCommandList; changes: CommandChanges }> {
  const after = await readList(tx, entityRef);
  const changes = describeCommandChanges(before.commands, after.commands);
  await tx(REVISIONS).insert({
    entity_ref: entityRef,
    revision: after.revision,
    action,
    changed_by: actor,
    changed_at: new Date(),
    restored_from: restoredFrom,
    changes: JSON.stringify(changes),
    commands: JSON.stringify(after.commands),
  } satisfies RevisionRow);
  return { list: after, changes };
}

function fromRevisionRow(row: RevisionRow): CommandRevision {
  return {
    entityRef: row.entity_ref,
    revision: Number(row.revision),
    action: row.action,
    changedBy: row.changed_by,
    changedAt: toIsoString(row.changed_at),
    restoredFrom: row.restored_from === null ? null : Number(row.restored_from),
    changes: JSON.parse(row.changes),
    commands: JSON.parse(row.commands),
  };
}

/**
 * Locks the entity's list row for the rest of the transaction and returns its
 * revision, creating the row at revision 0 the first time.
 */
async function lockList(
  tx: Knex.Transaction,
  entityRef: string,
): Promise<number> {
  await tx(LISTS)
    .insert({ entity_ref: entityRef, revision: 0, updated_at: new Date() })
    .onConflict('entity_ref')
    .ignore();
  const row = await lockRows(
    tx,
    tx(LISTS).where({ entity_ref: entityRef }).first('revision'),
  );
  return Number(row.revision);
}

/** Locks the list, checks that it is still at `expected`, and moves it on. */
async function bumpRevision(
  tx: Knex.Transaction,
  entityRef: string,
  expected: number | 'current',
  actor: string,
): Promise<void> {
  const current = await lockList(tx, entityRef);
  if (expected !== 'current' && expected !== current) {
    throw new ConflictError(
      `The release commands of ${entityRef} changed since revision ${expected} (now at revision ${current}); reload them and try again`,
    );
  }
  await tx(LISTS)
    .where({ entity_ref: entityRef })
    .update({
      revision: current + 1,
      updated_by: actor,
      updated_at: new Date(),
    });
}

/**
 * Writes the entity's commands as given. Delete-and-insert rather than
 * in-place updates, because moving positions in place would trip the unique
 * (entity, position) index part-way through a reorder on PostgreSQL.
 */
async function rewriteCommands(
  tx: Knex.Transaction,
  entityRef: string,
  rows: CommandRow[],
) {
  await tx(COMMANDS).where({ entity_ref: entityRef }).delete();
  if (rows.length > 0) {
    await tx(COMMANDS).insert(rows);
  }
}

async function readList(
  db: Knex | Knex.Transaction,
  entityRef: string,
): Promise<StoredCommandList> {
  // One statement, so the revision and the commands come from one snapshot.
  const rows: Array<Partial<CommandRow> & { revision: number }> = await db(
    `${LISTS} as l`,
  )
    .leftJoin(`${COMMANDS} as c`, 'c.entity_ref', 'l.entity_ref')
    .where('l.entity_ref', entityRef)
    .orderBy('c.position', 'asc')
    .select('l.revision', 'c.*');
  return {
    entityRef,
    revision: rows.length ? Number(rows[0].revision) : 0,
    commands: rows
      .filter(row => row.id !== null && row.id !== undefined)
      .map(row => fromRow(row as CommandRow)),
  };
}

function fromRow(row: CommandRow): ReleaseCommand {
  return {
    id: row.id,
    label: row.label,
    command: row.command,
    source: row.source,
    enabled: Boolean(row.enabled),
    timeoutSeconds:
      row.timeout_seconds === null ? null : Number(row.timeout_seconds),
    createdBy: row.created_by,
    createdAt: toIsoString(row.created_at),
    updatedBy: row.updated_by,
    updatedAt: toIsoString(row.updated_at),
  };
}

function toRow(
  entityRef: string,
  command: ReleaseCommand,
  position: number,
): CommandRow {
  return {
    id: command.id,
    entity_ref: entityRef,
    position,
    label: command.label,
    command: command.command,
    source: command.source,
    enabled: command.enabled,
    timeout_seconds: command.timeoutSeconds,
    created_by: command.createdBy,
    created_at: new Date(command.createdAt),
    updated_by: command.updatedBy,
    updated_at: new Date(command.updatedAt),
  };
}
