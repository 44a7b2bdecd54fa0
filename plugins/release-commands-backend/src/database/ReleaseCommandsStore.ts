import {
  CommandChanges,
  CommandInput,
  CommandRevision,
  CommandSource,
  ReleaseCommand,
} from '@release-commands/backstage-plugin-release-commands-common';

/** An entity's commands in run order and the revision they were read at. */
export type StoredCommandList = {
  entityRef: string;
  revision: number;
  commands: ReleaseCommand[];
};

/** The list after a write, with what the write changed (as its revision keeps it). */
export type WrittenCommandList = StoredCommandList & {
  changes: CommandChanges;
};

/** A command to append; `source` says who asked for it. */
export type NewCommand = {
  label: string;
  command: string;
  source: CommandSource;
  enabled?: boolean;
  timeoutSeconds?: number | null;
};

/** What an append did: `created` is false when the command already existed. */
export type AppendResult = {
  command: ReleaseCommand;
  created: boolean;
  list: StoredCommandList;
};

/**
 * Where each entity's release commands live. Every write names the entity's
 * revision it read (or, for appends, retries on its own), so concurrent
 * writers never overwrite each other silently.
 */
export interface ReleaseCommandsStore {
  getCommands(entityRef: string): Promise<StoredCommandList>;

  /**
   * Ties the ref's commands to the catalog entity that now has that ref
   * (its `metadata.uid`). Commands of another entity by that ref (deleted
   * since, its name given to a new one) are removed, the revision moving
   * on; resolves how many were. Commands written before entities were
   * tracked are claimed as they are.
   */
  bindToEntity(options: {
    entityRef: string;
    entityUid: string;
    actor: string;
  }): Promise<{ removed: number }>;

  /**
   * Replaces the whole list. Commands with an `id` keep their identity,
   * source and creation data; commands without one are new, with source
   * `user`. Throws ConflictError when `revision` is not the current one,
   * InputError for an id that is not one of the entity's commands.
   */
  replaceCommands(options: {
    entityRef: string;
    revision: number;
    commands: CommandInput[];
    actor: string;
  }): Promise<WrittenCommandList>;

  /**
   * Appends a command unless one with the same source and command text exists
   * (templates retry), in which case nothing changes.
   */
  appendCommand(options: {
    entityRef: string;
    command: NewCommand;
    actor: string;
  }): Promise<AppendResult>;

  /** Deletes one command; throws NotFoundError when it is not there. */
  deleteCommand(options: {
    entityRef: string;
    id: string;
    actor: string;
  }): Promise<StoredCommandList>;

  /**
   * The entity's revisions, newest first: each write kept with who made it,
   * when, what it changed and the whole list after it. `before` pages on
   * from a revision (exclusive).
   */
  listRevisions(
    entityRef: string,
    options: { limit: number; before?: number },
  ): Promise<{ revisions: CommandRevision[]; more: boolean }>;

  /**
   * Brings back the commands of revision `from` (their ids, sources and
   * settings) as a new revision. Throws ConflictError when `revision` is
   * not the current one, NotFoundError when `from` is not one of the
   * entity's revisions.
   */
  restoreRevision(options: {
    entityRef: string;
    revision: number;
    from: number;
    actor: string;
  }): Promise<WrittenCommandList>;
}
