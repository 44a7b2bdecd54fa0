import { DatabaseService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError } from '@backstage/errors';
import {
  ACTIVE_RUN_STATUSES,
  ReleaseCommandRun,
  RunStatus,
  RunStep,
  RunTrigger,
  StepSource,
  StepStatus,
} from '@release-commands/backstage-plugin-release-commands-common';
import { Knex } from 'knex';
import { databaseNow } from './databaseClock';
import { lockRows } from './lockRows';
import { migratedClient } from './migrateDatabase';
import {
  CancelOutcome,
  NewRun,
  NewStep,
  QueuedCounts,
  RunsStore,
  StepOutcome,
  StoredRunPage,
} from './RunsStore';
import { TimestampValue, toIsoString, toOptionalIsoString } from './timestamps';

const RUNS = 'release_command_runs';
const STEPS = 'release_command_run_steps';
const SCHEDULER = 'release_command_scheduler';

// Keeps multi-row inserts under SQLite's limit on bound variables.
const INSERT_BATCH = 100;

type RunRow = {
  id: string;
  entity_ref: string;
  environment: string;
  image: string;
  image_id: string | null;
  image_digest: string | null;
  commands_revision?: number | null;
  status: RunStatus;
  trigger: RunTrigger;
  triggered_by: string;
  env_keys: string;
  reason: string | null;
  active_key: string | null;
  owner_instance: string;
  heartbeat_at: TimestampValue;
  created_at: TimestampValue;
  started_at: TimestampValue | null;
  finished_at: TimestampValue | null;
  cancel_requested_at: TimestampValue | null;
  cancel_requested_by: string | null;
  lock_expires_at: TimestampValue | null;
};

type StepRow = {
  run_id: string;
  position: number;
  label: string;
  command: string;
  timeout_seconds: number;
  source: StepSource | null;
  declared_in: string | null;
  declared_revision: string | null;
  status: StepStatus;
  exit_code: number | null;
  oom_killed: boolean | number;
  container_id: string | null;
  started_at: TimestampValue | null;
  finished_at: TimestampValue | null;
};

/** The knex implementation of {@link RunsStore}. */
export class DatabaseRunsStore implements RunsStore {
  static async create(options: {
    database: DatabaseService;
  }): Promise<DatabaseRunsStore> {
    return new DatabaseRunsStore(await migratedClient(options.database));
  }

  private constructor(private readonly db: Knex) {}

  async createRun(
    run: NewRun,
    options: { checkQueue?(queued: QueuedCounts): void } = {},
  ): Promise<ReleaseCommandRun> {
    const now = nextCreationTime();
    try {
      await this.db.transaction(async tx => {
        if (options.checkQueue && !run.failure) {
          // Counted under the scheduler's lock, so that concurrent deploys
          // cannot all pass the same count.
          await lockRows(tx, tx(SCHEDULER).where({ id: 1 }).first('id'));
          const count = async (where: Partial<RunRow>) => {
            const [row] = await tx(RUNS)
              .where({ status: 'queued', ...where })
              .count({ count: '*' });
            return Number(row.count);
          };
          options.checkQueue({
            entity: await count({ entity_ref: run.entityRef }),
            actor: await count({ triggered_by: run.triggeredBy }),
          });
        }
        await tx(RUNS).insert({
          id: run.id,
          entity_ref: run.entityRef,
          environment: run.environment,
          image: run.image,
          status: run.failure ? 'failed' : 'queued',
          trigger: run.trigger,
          triggered_by: run.triggeredBy,
          env_keys: JSON.stringify(run.envKeys),
          reason: run.failure ?? null,
          active_key: run.failure
            ? null
            : activeKey(run.entityRef, run.environment),
          finished_at: run.failure ? now : null,
          owner_instance: run.ownerInstance,
          commands_revision: run.commandsRevision ?? null,
          heartbeat_at: await databaseNow(tx),
          created_at: now,
        });
        await insertSteps(
          tx,
          run.id,
          run.steps,
          run.failure ? 'skipped' : 'pending',
        );
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const active = await this.db<RunRow>(RUNS)
        .where({ active_key: activeKey(run.entityRef, run.environment) })
        .first();
      throw new ConflictError(describeLockHolder(run, active));
    }
    return (await this.getRun(run.id))!;
  }

  async describeLock(
    entityRef: string,
    environment: string,
  ): Promise<string | undefined> {
    const holder = await this.db<RunRow>(RUNS)
      .where({ active_key: activeKey(entityRef, environment) })
      .first();
    return holder && describeLockHolder({ entityRef, environment }, holder);
  }

  async getRun(id: string): Promise<ReleaseCommandRun | undefined> {
    const row = await this.db<RunRow>(RUNS).where({ id }).first();
    if (!row) return undefined;
    const [run] = await this.withSteps(this.db, [row]);
    return run;
  }

  async listRuns(
    entityRef: string,
    options: { limit: number; cursor?: string },
  ): Promise<StoredRunPage> {
    const query = this.db<RunRow>(RUNS)
      .where({ entity_ref: entityRef })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit + 1);
    if (options.cursor) {
      const { createdAt, id } = decodeCursor(options.cursor);
      query.where(inner =>
        inner
          .where('created_at', '<', createdAt)
          .orWhere(same =>
            same.where('created_at', '=', createdAt).andWhere('id', '<', id),
          ),
      );
    }
    const rows = await query;
    const page = rows.slice(0, options.limit);
    const runs = await this.withSteps(this.db, page);
    const last = page[page.length - 1];
    return rows.length > options.limit && last
      ? { runs, nextCursor: encodeCursor(last) }
      : { runs };
  }

  async claimQueuedRuns(options: {
    instanceId: string;
    maxRunning: number;
  }): Promise<ReleaseCommandRun[]> {
    return this.db.transaction(async tx => {
      // Every scheduler counts under the same row lock, so the cap holds
      // across replicas.
      await lockRows(tx, tx(SCHEDULER).where({ id: 1 }).first('id'));
      const [{ count }] = await tx(RUNS)
        .where({ status: 'running' })
        .count({ count: '*' });
      const room = options.maxRunning - Number(count);
      if (room <= 0) return [];
      const queued = await tx<RunRow>(RUNS)
        .where({ status: 'queued', owner_instance: options.instanceId })
        .orderBy([
          { column: 'created_at', order: 'asc' },
          { column: 'id', order: 'asc' },
        ])
        .limit(room);
      if (queued.length === 0) return [];
      const now = await databaseNow(tx);
      await tx(RUNS)
        .whereIn(
          'id',
          queued.map(r => r.id),
        )
        .where({ status: 'queued' })
        .update({ status: 'running', started_at: now, heartbeat_at: now });
      const claimed = await tx<RunRow>(RUNS)
        .whereIn(
          'id',
          queued.map(r => r.id),
        )
        .where({ status: 'running' })
        .orderBy([
          { column: 'created_at', order: 'asc' },
          { column: 'id', order: 'asc' },
        ]);
      return this.withSteps(tx, claimed);
    });
  }

  async startStep(runId: string, position: number): Promise<boolean> {
    return this.db.transaction(async tx => {
      const run = await lockRows(
        tx,
        tx<RunRow>(RUNS).where({ id: runId }).first('status'),
      );
      if (run?.status !== 'running') return false;
      // On the database's clock: recovery reckons the step's deadline from it.
      await tx(STEPS)
        .where({ run_id: runId, position, status: 'pending' })
        .update({ status: 'running', started_at: await databaseNow(tx) });
      return true;
    });
  }

  async setRunImage(
    runId: string,
    image: { id: string | null; digest: string | null },
  ): Promise<void> {
    await this.db(RUNS)
      .where({ id: runId, status: 'running' })
      .update({ image_id: image.id, image_digest: image.digest });
  }

  async replacePendingSteps(runId: string, steps: NewStep[]): Promise<boolean> {
    return this.db.transaction(async tx => {
      const run = await lockRows(
        tx,
        tx<RunRow>(RUNS).where({ id: runId, status: 'running' }).first('id'),
      );
      if (!run) return false;
      const [started] = await tx(STEPS)
        .where({ run_id: runId })
        .whereNot({ status: 'pending' })
        .count({ count: '*' });
      if (Number(started.count) > 0) return false;
      await tx(STEPS).where({ run_id: runId }).delete();
      await insertSteps(tx, runId, steps);
      return true;
    });
  }

  async setStepWorkload(
    runId: string,
    position: number,
    workloadId: string,
  ): Promise<void> {
    await this.db(STEPS)
      .where({ run_id: runId, position })
      .whereIn(
        'run_id',
        this.db(RUNS).where({ id: runId, status: 'running' }).select('id'),
      )
      .update({ container_id: workloadId });
  }

  async finishStep(
    runId: string,
    position: number,
    outcome: StepOutcome,
  ): Promise<void> {
    await this.db(STEPS)
      .where({ run_id: runId, position })
      .whereIn('status', ['pending', 'running'])
      .update({
        status: outcome.status,
        exit_code: outcome.exitCode,
        oom_killed: outcome.oomKilled,
        finished_at: new Date(),
      });
  }

  async finishRun(
    runId: string,
    outcome: {
      status: Exclude<RunStatus, 'queued' | 'running'>;
      reason: string | null;
    },
  ): Promise<boolean> {
    // Steps end before their run; a step still running here was cut short.
    const runningStep: StepStatus =
      outcome.status === 'succeeded' ? 'failed' : outcome.status;
    return this.db.transaction(async tx =>
      endRun(tx, runId, outcome.status, outcome.reason, runningStep),
    );
  }

  async requestCancel(
    runId: string,
    actor: string,
  ): Promise<CancelOutcome | undefined> {
    const kind = await this.db.transaction(async tx => {
      const run = await lockRows(
        tx,
        tx<RunRow>(RUNS).where({ id: runId }).first(),
      );
      if (!run) return undefined;
      if (run.status === 'queued') {
        await tx(RUNS).where({ id: runId }).update({
          cancel_requested_at: new Date(),
          cancel_requested_by: actor,
        });
        await endRun(
          tx,
          runId,
          'cancelled',
          `Cancelled by ${actor} before any command ran.`,
          'skipped',
        );
        return 'cancelled' as const;
      }
      if (run.status === 'running') {
        if (!run.cancel_requested_at) {
          await tx(RUNS).where({ id: runId }).update({
            cancel_requested_at: new Date(),
            cancel_requested_by: actor,
          });
        }
        return 'requested' as const;
      }
      return 'final' as const;
    });
    if (!kind) return undefined;
    return { kind, run: (await this.getRun(runId))! };
  }

  async heartbeat(
    instanceId: string,
    runIds: string[],
  ): Promise<{ cancelRequested: string[]; ended: string[] }> {
    if (runIds.length === 0) return { cancelRequested: [], ended: [] };
    await this.db(RUNS)
      .where({ owner_instance: instanceId })
      .whereIn('id', runIds)
      .whereIn('status', ACTIVE_RUN_STATUSES as RunStatus[])
      .update({ heartbeat_at: await databaseNow(this.db) });
    const rows = await this.db<RunRow>(RUNS)
      .whereIn('id', runIds)
      .select('id', 'status', 'cancel_requested_at');
    const active = new Set(
      rows.filter(r => ACTIVE_RUN_STATUSES.includes(r.status)).map(r => r.id),
    );
    return {
      cancelRequested: rows
        .filter(r => active.has(r.id) && r.cancel_requested_at)
        .map(r => r.id),
      ended: runIds.filter(id => !active.has(id)),
    };
  }

  async activeRunOwners(): Promise<string[]> {
    const rows = await this.db<RunRow>(RUNS)
      .whereIn('status', ACTIVE_RUN_STATUSES as RunStatus[])
      .distinct('owner_instance');
    return rows.map(r => r.owner_instance);
  }

  async interruptStaleRuns(options: {
    staleAfterMs: number;
    goneOwners?: string[];
    exceptOwner?: string;
    workloadGraceMs: number;
  }): Promise<ReleaseCommandRun[]> {
    const { goneOwners = [], exceptOwner } = options;
    const staleBefore = new Date(
      (await databaseNow(this.db)).getTime() - options.staleAfterMs,
    );
    const isStale = (query: Knex.QueryBuilder) =>
      query
        .whereIn('status', ACTIVE_RUN_STATUSES as RunStatus[])
        .where(inner =>
          inner
            .where('heartbeat_at', '<', staleBefore)
            .orWhereIn('owner_instance', goneOwners),
        )
        .modify(q => {
          if (exceptOwner) q.whereNot('owner_instance', exceptOwner);
        });
    const stale: RunRow[] = await isStale(this.db(RUNS)).select(
      'id',
      'heartbeat_at',
    );
    const interrupted: ReleaseCommandRun[] = [];
    for (const { id, heartbeat_at } of stale) {
      const ended = await this.db.transaction(async tx => {
        // Checked again under the lock: the owner may have come back.
        const row = await lockRows(
          tx,
          isStale(tx(RUNS).where({ id })).first('id'),
        );
        if (!row) return false;
        // Its command may still be running in a container of the stopped
        // owner: the lock waits for it to be removed, or to time out.
        const step = await tx<StepRow>(STEPS)
          .where({ run_id: id, status: 'running' })
          .first('started_at', 'timeout_seconds');
        const lockUntil = step?.started_at
          ? new Date(
              new Date(toIsoString(step.started_at)).getTime() +
                Number(step.timeout_seconds) * 1000 +
                options.workloadGraceMs,
            )
          : undefined;
        return endRun(
          tx,
          id,
          'interrupted',
          `The backend instance running this deploy stopped (its last sign of life was at ${toIsoString(
            heartbeat_at,
          )}); the run was not retried because a command may have been partly applied. Check the service, then run the release commands again.`,
          'interrupted',
          lockUntil,
        );
      });
      if (ended) interrupted.push((await this.getRun(id))!);
    }
    return interrupted;
  }

  async releaseEndedLocks(options: {
    expiredOnly: boolean;
  }): Promise<string[]> {
    const holding = (query: Knex.QueryBuilder) =>
      query
        .whereNotNull('active_key')
        .whereNotIn('status', ACTIVE_RUN_STATUSES as RunStatus[]);
    const now = await databaseNow(this.db);
    const query = holding(this.db(RUNS));
    if (options.expiredOnly) query.where('lock_expires_at', '<', now);
    const rows: RunRow[] = await query.select('id');
    if (rows.length === 0) return [];
    const ids = rows.map(r => r.id);
    await holding(this.db(RUNS))
      .whereIn('id', ids)
      .update({ active_key: null, lock_expires_at: null });
    return ids;
  }

  async isRunAlive(runId: string, staleAfterMs: number): Promise<boolean> {
    const row = await this.db<RunRow>(RUNS)
      .where({ id: runId })
      .first('status', 'heartbeat_at');
    if (!row) return true;
    if (!ACTIVE_RUN_STATUSES.includes(row.status)) return false;
    const now = await databaseNow(this.db);
    return (
      new Date(toIsoString(row.heartbeat_at)).getTime() >=
      now.getTime() - staleAfterMs
    );
  }

  async listRunsEndedBefore(
    endedBefore: Date,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.db<RunRow>(RUNS)
      .where('finished_at', '<', endedBefore)
      .whereNotIn('status', ACTIVE_RUN_STATUSES as RunStatus[])
      .orderBy([
        { column: 'finished_at', order: 'asc' },
        { column: 'id', order: 'asc' },
      ])
      .limit(limit)
      .select('id');
    return rows.map(r => r.id);
  }

  async deleteEndedRuns(runIds: string[]): Promise<number> {
    if (runIds.length === 0) return 0;
    const ended = (query: Knex.QueryBuilder) =>
      query
        .whereIn('id', runIds)
        .whereNotIn('status', ACTIVE_RUN_STATUSES as RunStatus[])
        .whereNotNull('finished_at');
    return this.db.transaction(async tx => {
      await tx(STEPS)
        .whereIn('run_id', ended(tx(RUNS)).select('id'))
        .delete();
      // The log store deletes a run's chunks first, in batches; the foreign
      // key's cascade takes any written since.
      return Number(await ended(tx(RUNS)).delete());
    });
  }

  private async withSteps(
    db: Knex | Knex.Transaction,
    rows: RunRow[],
  ): Promise<ReleaseCommandRun[]> {
    if (rows.length === 0) return [];
    const stepRows = await db<StepRow>(STEPS)
      .whereIn(
        'run_id',
        rows.map(r => r.id),
      )
      .orderBy([
        { column: 'run_id', order: 'asc' },
        { column: 'position', order: 'asc' },
      ]);
    const steps = new Map<string, RunStep[]>();
    for (const step of stepRows) {
      const list = steps.get(step.run_id) ?? [];
      list.push(fromStepRow(step));
      steps.set(step.run_id, list);
    }
    return rows.map(row => fromRunRow(row, steps.get(row.id) ?? []));
  }
}

/** Inserts a run's steps, numbered in the order given. */
async function insertSteps(
  tx: Knex.Transaction,
  runId: string,
  steps: NewStep[],
  status: StepStatus = 'pending',
): Promise<void> {
  const rows = steps.map((step, position) => ({
    run_id: runId,
    position,
    label: step.label,
    command: step.command,
    timeout_seconds: step.timeoutSeconds,
    source: step.source ?? null,
    declared_in: step.declaredIn?.location ?? null,
    declared_revision: step.declaredIn?.revision ?? null,
    status,
    oom_killed: false,
  }));
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    await tx(STEPS).insert(rows.slice(i, i + INSERT_BATCH));
  }
}

/**
 * Ends a run that is still active: its running step takes `runningStep`, its
 * pending steps become skipped, and the entity's lock is released, or kept
 * until `lockUntil` when a workload of the run may still be running.
 */
async function endRun(
  tx: Knex.Transaction,
  runId: string,
  status: Exclude<RunStatus, 'queued' | 'running'>,
  reason: string | null,
  runningStep: StepStatus,
  lockUntil?: Date,
): Promise<boolean> {
  const now = new Date();
  const updated = await tx(RUNS)
    .where({ id: runId })
    .whereIn('status', ACTIVE_RUN_STATUSES as RunStatus[])
    .update({
      status,
      reason,
      finished_at: now,
      ...(lockUntil
        ? { lock_expires_at: lockUntil }
        : { active_key: null, lock_expires_at: null }),
    });
  if (!updated) return false;
  await tx(STEPS)
    .where({ run_id: runId, status: 'running' })
    .update({ status: runningStep, finished_at: now });
  await tx(STEPS)
    .where({ run_id: runId, status: 'pending' })
    .update({ status: 'skipped' });
  return true;
}

let lastCreationTime = 0;

/**
 * Now, but later than any run this process created before: queued runs start
 * in creation order, and two created in the same millisecond would otherwise
 * tie.
 */
function nextCreationTime(): Date {
  lastCreationTime = Math.max(Date.now(), lastCreationTime + 1);
  return new Date(lastCreationTime);
}

/** Why a run cannot start: the run that holds the entity's lock. */
function describeLockHolder(
  run: Pick<NewRun, 'entityRef' | 'environment'>,
  holder: RunRow | undefined,
): string {
  const where = `${run.entityRef} already has an active run in environment "${run.environment}"`;
  if (!holder) return `${where}; try again`;
  if (ACTIVE_RUN_STATUSES.includes(holder.status)) {
    return `${where}: ${holder.id} (${holder.status} since ${toIsoString(
      holder.started_at ?? holder.created_at,
    )}); wait for it to end or cancel it`;
  }
  return `${where}: ${holder.id} was ${
    holder.status
  }, and its last command may still be running in a container its stopped backend left; the lock is released once that container is removed${
    holder.lock_expires_at
      ? `, at the latest at ${toIsoString(holder.lock_expires_at)}`
      : ''
  }. Try again then`;
}

function activeKey(entityRef: string, environment: string): string {
  return `${entityRef} ${environment}`;
}

function isUniqueViolation(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed/.test(message ?? '')
  );
}

function encodeCursor(row: RunRow): string {
  return Buffer.from(
    JSON.stringify([new Date(toIsoString(row.created_at)).getTime(), row.id]),
  ).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [ms, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (typeof ms === 'number' && typeof id === 'string') {
      return { createdAt: new Date(ms), id };
    }
  } catch {
    // Reported below.
  }
  throw new InputError(
    'cursor must be a nextCursor value returned by a previous page',
  );
}

function fromRunRow(row: RunRow, steps: RunStep[]): ReleaseCommandRun {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    environment: row.environment,
    image: row.image,
    imageId: row.image_id ?? null,
    imageDigest: row.image_digest ?? null,
    commandsRevision:
      row.commands_revision === null || row.commands_revision === undefined
        ? null
        : Number(row.commands_revision),
    status: row.status,
    trigger: row.trigger,
    triggeredBy: row.triggered_by,
    envKeys: JSON.parse(row.env_keys),
    reason: row.reason,
    createdAt: toIsoString(row.created_at),
    startedAt: toOptionalIsoString(row.started_at),
    finishedAt: toOptionalIsoString(row.finished_at),
    cancelRequestedAt: toOptionalIsoString(row.cancel_requested_at),
    cancelRequestedBy: row.cancel_requested_by,
    steps,
  };
}

function fromStepRow(row: StepRow): RunStep {
  return {
    position: Number(row.position),
    label: row.label,
    source: row.source,
    ...(row.declared_in !== null && {
      declaredIn: {
        location: row.declared_in,
        revision: row.declared_revision,
      },
    }),
    command: row.command,
    timeoutSeconds: Number(row.timeout_seconds),
    status: row.status,
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    oomKilled: Boolean(row.oom_killed),
    startedAt: toOptionalIsoString(row.started_at),
    finishedAt: toOptionalIsoString(row.finished_at),
  };
}
