import { DatabaseService } from '@backstage/backend-plugin-api';
import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { Knex } from 'knex';
import { migratedClient } from './migrateDatabase';
import { RunLogStore } from './RunLogStore';
import { TimestampValue, toIsoString } from './timestamps';

const LOGS = 'release_command_run_logs';

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
    const rows = chunks.map(chunk => toLogRow(runId, chunk));
    for (let i = 0; i < rows.length; i += INSERT_BATCH) {
      await this.db(LOGS).insert(rows.slice(i, i + INSERT_BATCH));
    }
  }

  async putLogChunk(runId: string, chunk: RunLogChunk): Promise<void> {
    await this.db(LOGS)
      .insert(toLogRow(runId, chunk))
      .onConflict(['run_id', 'seq'])
      .merge(['text', 'at']);
  }

  async deleteLogChunks(runId: string, seqs: number[]): Promise<void> {
    for (let i = 0; i < seqs.length; i += DELETE_BATCH) {
      await this.db(LOGS)
        .where({ run_id: runId })
        .whereIn('seq', seqs.slice(i, i + DELETE_BATCH))
        .delete();
    }
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
