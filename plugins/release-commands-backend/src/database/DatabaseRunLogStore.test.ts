import { mockServices } from '@backstage/backend-test-utils';
import { createTestDatabases } from '@release-commands/test-utils';
import { createTestRun } from '../__testUtils__/createTestRun';
import { DatabaseRunLogStore } from './DatabaseRunLogStore';
import { DatabaseRunsStore } from './DatabaseRunsStore';

const { databases, ids } = createTestDatabases();

describe.each(ids)('DatabaseRunLogStore on %p', databaseId => {
  async function createStores() {
    const knex = await databases.init(databaseId);
    const database = mockServices.database({ knex });
    return {
      knex,
      runs: await DatabaseRunsStore.create({ database }),
      store: await DatabaseRunLogStore.create({ database }),
    };
  }

  it('keeps log chunks in order, replaces and deletes them', async () => {
    const { runs, store } = await createStores();
    const run = await createTestRun(runs);
    expect(await store.lastLogSeq(run.id)).toBe(-1);
    const at = new Date().toISOString();
    await store.appendLog(
      run.id,
      Array.from({ length: 250 }, (_, seq) => ({
        seq,
        step: seq === 0 ? null : 0,
        stream: seq === 0 ? ('system' as const) : ('stdout' as const),
        at,
        text: `line ${seq}\n`,
      })),
    );
    expect(await store.lastLogSeq(run.id)).toBe(249);
    const page = await store.readLog(run.id, { afterSeq: 10, limit: 3 });
    expect(page).toEqual([
      { seq: 11, step: 0, stream: 'stdout', at, text: 'line 11\n' },
      { seq: 12, step: 0, stream: 'stdout', at, text: 'line 12\n' },
      { seq: 13, step: 0, stream: 'stdout', at, text: 'line 13\n' },
    ]);
    await store.deleteLogChunks(run.id, [12, 13]);
    await store.putLogChunk(run.id, {
      seq: 11,
      step: null,
      stream: 'system',
      at,
      text: '[cut]\n',
    });
    expect(
      (await store.readLog(run.id, { afterSeq: 10, limit: 2 })).map(
        c => c.text,
      ),
    ).toEqual(['[cut]\n', 'line 14\n']);
  });

  it('deletes more chunks than one statement binds, and only of that run', async () => {
    const { runs, store } = await createStores();
    const run = await createTestRun(runs);
    const other = await createTestRun(runs, 'blog');
    const at = new Date().toISOString();
    const chunks = Array.from({ length: 1200 }, (_, seq) => ({
      seq,
      step: 0,
      stream: 'stdout' as const,
      at,
      text: `${seq}\n`,
    }));
    await store.appendLog(run.id, chunks);
    await store.appendLog(other.id, chunks.slice(0, 3));
    await store.deleteLogChunks(
      run.id,
      chunks.slice(0, 1199).map(c => c.seq),
    );
    expect(await store.readLog(run.id, { afterSeq: -1, limit: 10 })).toEqual([
      { seq: 1199, step: 0, stream: 'stdout', at, text: '1199\n' },
    ]);
    expect(await store.lastLogSeq(other.id)).toBe(2);
  });

  it("deletes a run's whole log a batch of chunks per statement, and only that run's", async () => {
    const knex = await databases.init(databaseId);
    const database = mockServices.database({ knex });
    const runs = await DatabaseRunsStore.create({ database });
    const store = await DatabaseRunLogStore.create({ database });
    const run = await createTestRun(runs);
    const other = await createTestRun(runs, 'blog');
    const at = new Date().toISOString();
    // With a gap, as a log cut under its cap has.
    const chunks = Array.from({ length: 1200 }, (_, i) => ({
      seq: i < 600 ? i : i + 5000,
      step: 0,
      stream: 'stdout' as const,
      at,
      text: `${i}\n`,
    }));
    await store.appendLog(run.id, chunks);
    await store.appendLog(other.id, chunks.slice(0, 3));

    const deletes: number[] = [];
    const onResponse = (response: unknown, query: { method?: string }) => {
      if (query.method === 'del') deletes.push(Number(response));
    };
    knex.on('query-response', onResponse);
    try {
      expect(await store.deleteRunLog(run.id, { batchSize: 500 })).toBe(1200);
    } finally {
      knex.off('query-response', onResponse);
    }
    expect(deletes).toEqual([500, 500, 200]);
    expect(await store.lastLogSeq(run.id)).toBe(-1);
    expect(await store.lastLogSeq(other.id)).toBe(2);
    expect(await store.deleteRunLog(run.id)).toBe(0);
  });

  it('reads a long chunk back whole, compressed with lz4 on PostgreSQL', async () => {
    const { knex, runs, store } = await createStores();
    const run = await createTestRun(runs);
    const at = new Date().toISOString();
    const text = Array.from(
      { length: 6000 },
      (_, i) =>
        `INFO worker[${i % 7}]: order ${1000003 * i} in ${i % 500} ms\n`,
    ).join('');
    await store.appendLog(run.id, [
      { seq: 0, step: 0, stream: 'stdout', at, text },
    ]);
    expect(await store.readLog(run.id, { afterSeq: -1, limit: 10 })).toEqual([
      { seq: 0, step: 0, stream: 'stdout', at, text },
    ]);
    // On PostgreSQL 14 and later, where built with lz4 (as the test server
    // is), the text is compressed with it; SQLite does not compress.
    const compression = async () => {
      if (!databaseId.startsWith('POSTGRES')) return { stored: [], lz4: false };
      const lz4 = await knex.raw(
        `SELECT 1 FROM pg_settings
          WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`,
      );
      const { rows } = await knex.raw(
        'SELECT pg_column_compression(text) AS compression FROM release_command_run_logs WHERE run_id = ?',
        [run.id],
      );
      return { stored: rows, lz4: lz4.rows.length > 0 };
    };
    const { stored, lz4 } = await compression();
    expect(stored).toEqual(
      databaseId.startsWith('POSTGRES')
        ? [{ compression: lz4 ? 'lz4' : 'pglz' }]
        : [],
    );
  });
});
