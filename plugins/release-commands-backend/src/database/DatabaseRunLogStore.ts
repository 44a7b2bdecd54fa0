import { DatabaseService } from '@backstage/backend-plugin-api';
import {
  ACTIVE_RUN_STATUSES,
  RunLogChunk,
  RunStatus,
} from '@release-commands/backstage-plugin-release-commands-common';
import { Knex } from 'knex';
import { lockRows } from './lockRows';
import { migratedClient } from './migrateDatabase';
import { LogBatch, RunLogStore } from './RunLogStore';
import { TimestampValue, toIsoString } from './timestamps';

const LOGS = 'release_command_run_logs';
const RUNS = 'release_command_runs';

// Keeps multi-row inserts under SQLite's limit on bound variables.
const INSERT_BATCH = 100;

// A delete binds one variable per sequence number, and nothing else.
const DELETE_BATCH = 500;

type LogRow = {
  run_id: string;
  seq: number;
  step: number | null;
  stream: RunLogChunk['stream'];
  at: TimestampValue;
  text: string;
};

/** The knex implementation of {@link RunLogStore}. */
export class DatabaseRunLogStore implements RunLogStore {
  static async create(options: {
    database: DatabaseService;
  }): Promise<DatabaseRunLogStore> {
    return new DatabaseRunLogStore(await migratedClient(options.database));
  }

  private constructor(private readonly db: Knex) {}

  async appendLog(runId: string, chunks: RunLogChunk[]): Promise<void> {
    await this.db.transaction(tx => append(tx, runId, chunks));
  }

  async putLogChunk(runId: string, chunk: RunLogChunk): Promise<void> {
    await put(this.db, runId, chunk);
  }

  async deleteLogChunks(runId: string, seqs: number[]): Promise<void> {
    await remove(this.db, runId, seqs);
  }

  async writeLog(
    runId: string,
    batch: LogBatch,
    options: { ownerInstance?: string } = {},
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      if (options.ownerInstance) {
        // Under the run's lock: recovery ends a run under it too, and reads
        // where the log stops only after that.
        const run = await lockRows(
          tx,
          tx(RUNS)
            .where({ id: runId, owner_instance: options.ownerInstance })
            .whereIn('status', ACTIVE_RUN_STATUSES as RunStatus[])
            .first('id'),
        );
        if (!run) return false;
      }
      await append(tx, runId, batch.append);
      for (const chunk of batch.put) await put(tx, runId, chunk);
      await remove(tx, runId, batch.delete);
      return true;
    });
  }

  async readLog(
    runId: string,
    options: { afterSeq: number; limit: number },
  ): Promise<RunLogChunk[]> {
    const rows = await this.db<LogRow>(LOGS)
      .where({ run_id: runId })
      .where('seq', '>', options.afterSeq)
      .orderBy('seq', 'asc')
      .limit(options.limit);
    return rows.map(fromLogRow);
  }

  async lastLogSeq(runId: string): Promise<number> {
    const [row] = await this.db(LOGS)
      .where({ run_id: runId })
      .max({ seq: 'seq' });
    return row?.seq === null || row?.seq === undefined ? -1 : Number(row.seq);
  }

  async deleteRunLog(
    runId: string,
    options: { batchSize?: number } = {},
  ): Promise<number> {
    const batchSize = options.batchSize ?? DELETE_BATCH;
    let deleted = 0;
    for (;;) {
      // The highest sequence number of the next batch: deleting up to it
      // takes at most batchSize chunks, by the primary key.
      const last = await this.db<LogRow>(LOGS)
        .where({ run_id: runId })
        .orderBy('seq', 'asc')
        .offset(batchSize - 1)
        .first('seq');
      const batch = this.db(LOGS).where({ run_id: runId });
      if (last) batch.where('seq', '<=', last.seq);
      deleted += await batch.delete();
      if (!last) return deleted;
    }
  }
}

async function append(
  db: Knex | Knex.Transaction,
  runId: string,
  chunks: RunLogChunk[],
) {
  const rows = chunks.map(chunk => toLogRow(runId, chunk));
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    await db(LOGS).insert(rows.slice(i, i + INSERT_BATCH));
  }
}

async function put(
  db: Knex | Knex.Transaction,
  runId: string,
  chunk: RunLogChunk,
) {
  await db(LOGS)
    .insert(toLogRow(runId, chunk))
    .onConflict(['run_id', 'seq'])
    .merge(['text', 'at']);
}

async function remove(
  db: Knex | Knex.Transaction,
  runId: string,
  seqs: number[],
) {
  for (let i = 0; i < seqs.length; i += DELETE_BATCH) {
    await db(LOGS)
      .where({ run_id: runId })
      .whereIn('seq', seqs.slice(i, i + DELETE_BATCH))
      .delete();
  }
}

function toLogRow(runId: string, chunk: RunLogChunk): LogRow {
  return {
    run_id: runId,
    seq: chunk.seq,
    step: chunk.step,
    stream: chunk.stream,
    at: new Date(chunk.at),
    text: chunk.text,
  };
}

function fromLogRow(row: LogRow): RunLogChunk {
  return {
    seq: Number(row.seq),
    step: row.step === null ? null : Number(row.step),
    stream: row.stream,
    at: toIsoString(row.at),
    text: row.text,
  };
}
