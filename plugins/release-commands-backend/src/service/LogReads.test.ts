import { mockServices } from '@backstage/backend-test-utils';
import { LoggerService } from '@backstage/backend-plugin-api';
import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { createTestDatabases } from '@release-commands/test-utils';
import { createTestRun } from '../__testUtils__/createTestRun';
import { DatabaseRunLogStore } from '../database/DatabaseRunLogStore';
import { DatabaseRunsStore } from '../database/DatabaseRunsStore';
import { openRunLog } from '../runs/openRunLog';
import { RunEvents } from '../runs/RunEvents';
import { LogReads } from './LogReads';

const RUN = 'run-1';

const chunk = (seq: number, text = `line ${seq}\n`): RunLogChunk => ({
  seq,
  step: 0,
  stream: 'stdout',
  at: '2026-12-06T00:00:00.000Z',
  text,
});

/**
 * A store whose reads wait until released, one by one, recording what was
 * asked: to see which reads are made, and when.
 */
function gatedStore(stored: RunLogChunk[]) {
  const asked: Array<{ afterSeq: number; limit: number }> = [];
  const gates: Array<() => void> = [];
  let failNext: Error | undefined;
  return {
    asked,
    stored,
    /** Reads started and not yet released. */
    get started() {
      return gates.length;
    },
    release() {
      gates.shift()!();
    },
    failNextRead(error: Error) {
      failNext = error;
    },
    readLog(_runId: string, page: { afterSeq: number; limit: number }) {
      asked.push({ ...page });
      const error = failNext;
      failNext = undefined;
      return new Promise<RunLogChunk[]>((resolve, reject) => {
        gates.push(() =>
          error
            ? reject(error)
            : resolve(
                stored.filter(c => c.seq > page.afterSeq).slice(0, page.limit),
              ),
        );
      });
    },
  };
}

const settle = () => new Promise(resolve => setImmediate(resolve));

describe('LogReads', () => {
  it('makes a few reads at a time, the others waiting their turn', async () => {
    const store = gatedStore([chunk(0), chunk(1), chunk(2)]);
    const reads = new LogReads(store, new RunEvents(), { concurrency: 2 });
    const results = [0, 1, 2].map(afterSeq =>
      reads.readLog(RUN, { afterSeq, limit: 10 }),
    );
    await settle();
    expect(store.started).toBe(2);
    expect(store.asked).toEqual([
      { afterSeq: 0, limit: 10 },
      { afterSeq: 1, limit: 10 },
    ]);
    store.release();
    await settle();
    expect(store.asked).toHaveLength(3);
    store.release();
    store.release();
    expect((await Promise.all(results)).map(c => c.map(x => x.seq))).toEqual([
      [1, 2],
      [2],
      [],
    ]);
  });

  it('gives all who ask for a page while its read waits one read, but never joins a read under way', async () => {
    const store = gatedStore([chunk(0), chunk(1)]);
    const reads = new LogReads(store, new RunEvents(), { concurrency: 1 });
    const first = reads.readLog(RUN, { afterSeq: 5, limit: 10 });
    await settle();
    // The first read is under way: these wait, for one read between them.
    const waiting = [1, 2, 3].map(() =>
      reads.readLog(RUN, { afterSeq: -1, limit: 10 }),
    );
    await settle();
    store.release();
    await first;
    await settle();
    // Asked once its read started: it gets a read of its own.
    const late = reads.readLog(RUN, { afterSeq: -1, limit: 10 });
    store.release();
    const [a, b, c] = await Promise.all(waiting);
    expect(a.map(x => x.seq)).toEqual([0, 1]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    await settle();
    store.release();
    expect((await late).map(x => x.seq)).toEqual([0, 1]);
    expect(store.asked).toEqual([
      { afterSeq: 5, limit: 10 },
      { afterSeq: -1, limit: 10 },
      { afterSeq: -1, limit: 10 },
    ]);
  });

  it('rejects a failed read for those who waited for it, and goes on with the next', async () => {
    const store = gatedStore([chunk(0)]);
    const reads = new LogReads(store, new RunEvents(), { concurrency: 1 });
    store.failNextRead(new Error('database gone'));
    const failed = reads.readLog(RUN, { afterSeq: -1, limit: 10 });
    const next = reads.readLog(RUN, { afterSeq: 0, limit: 10 });
    await settle();
    store.release();
    await expect(failed).rejects.toThrow('database gone');
    await settle();
    store.release();
    await expect(next).resolves.toEqual([]);
  });

  it('reads a run written elsewhere afresh every time', async () => {
    const store = gatedStore([chunk(0), chunk(1)]);
    const reads = new LogReads(store, new RunEvents());
    for (let i = 0; i < 2; i++) {
      const read = reads.readLog(RUN, { afterSeq: -1, limit: 2 });
      await settle();
      store.release();
      expect((await read).map(x => x.seq)).toEqual([0, 1]);
    }
    expect(store.asked).toHaveLength(2);
  });

  describe('of a run written here', () => {
    async function read(
      reads: LogReads,
      store: ReturnType<typeof gatedStore>,
      page: { afterSeq: number; limit: number },
    ) {
      const result = reads.readLog(RUN, page);
      // Releases whatever reads it makes, as they start.
      for (;;) {
        await settle();
        if (store.started === 0) break;
        store.release();
      }
      return result;
    }

    it('keeps what was read for the next reader, who reads only what came after it', async () => {
      const stored = [chunk(0), chunk(1), chunk(2)];
      const store = gatedStore(stored);
      const events = new RunEvents();
      events.openWriter(RUN);
      const reads = new LogReads(store, events);

      const full = await read(reads, store, { afterSeq: -1, limit: 2 });
      expect(full.map(x => x.seq)).toEqual([0, 1]);
      expect(await read(reads, store, { afterSeq: -1, limit: 2 })).toBe(full);
      expect(store.asked).toHaveLength(1);

      // A page that ended where the log did: only what followed is read.
      expect(
        (await read(reads, store, { afterSeq: 1, limit: 4 })).map(x => x.seq),
      ).toEqual([2]);
      stored.push(chunk(3), chunk(4));
      const grown = await read(reads, store, { afterSeq: 1, limit: 4 });
      expect(grown.map(x => x.seq)).toEqual([2, 3, 4]);
      expect(store.asked.slice(1)).toEqual([
        { afterSeq: 1, limit: 4 },
        { afterSeq: 2, limit: 3 },
      ]);
    });

    it('reads the store again once the writer deleted or replaced a chunk, another writer opened, or another instance took the run', async () => {
      const stored = [chunk(0), chunk(1)];
      const store = gatedStore(stored);
      const events = new RunEvents();
      const close = events.openWriter(RUN);
      const reads = new LogReads(store, events);
      await read(reads, store, { afterSeq: -1, limit: 2 });

      stored[1] = chunk(1, 'the note at the seam, rewritten\n');
      events.rewrote(RUN);
      const after = await read(reads, store, { afterSeq: -1, limit: 2 });
      expect(after[1].text).toBe('the note at the seam, rewritten\n');

      // Closing keeps what was read: the log is final.
      close();
      await read(reads, store, { afterSeq: -1, limit: 2 });
      expect(store.asked).toHaveLength(2);
      // A writer that continues it may cut what it appends.
      events.openWriter(RUN);
      await read(reads, store, { afterSeq: -1, limit: 2 });
      expect(store.asked).toHaveLength(3);
      // Taken over by another instance, whose cuts this one does not see.
      events.disown(RUN);
      await read(reads, store, { afterSeq: -1, limit: 2 });
      await read(reads, store, { afterSeq: -1, limit: 2 });
      expect(store.asked).toHaveLength(5);
    });

    it('keeps nothing read while the writer rewrote the log', async () => {
      const store = gatedStore([chunk(0), chunk(1)]);
      const events = new RunEvents();
      events.openWriter(RUN);
      const reads = new LogReads(store, events);
      const during = reads.readLog(RUN, { afterSeq: -1, limit: 2 });
      await settle();
      events.rewrote(RUN);
      store.release();
      await during;
      await read(reads, store, { afterSeq: -1, limit: 2 });
      expect(store.asked).toHaveLength(2);
    });

    it('keeps at most the characters it is given, the least recently used going first', async () => {
      const store = gatedStore([
        chunk(0, 'aaaa'),
        chunk(1, 'bbbb'),
        chunk(2, 'cccc'),
      ]);
      const events = new RunEvents();
      events.openWriter(RUN);
      const reads = new LogReads(store, events, { cacheChars: 8 });
      await read(reads, store, { afterSeq: -1, limit: 1 });
      await read(reads, store, { afterSeq: 0, limit: 1 });
      // Used again, so the other goes first.
      await read(reads, store, { afterSeq: -1, limit: 1 });
      await read(reads, store, { afterSeq: 1, limit: 1 });
      expect(store.asked).toHaveLength(3);
      await read(reads, store, { afterSeq: -1, limit: 1 });
      expect(store.asked).toHaveLength(3);
      await read(reads, store, { afterSeq: 0, limit: 1 });
      expect(store.asked).toHaveLength(4);
      // Larger than all it may keep: read, not kept.
      await read(reads, store, { afterSeq: -1, limit: 3 });
      await read(reads, store, { afterSeq: -1, limit: 3 });
      expect(store.asked).toHaveLength(6);
    });
  });
});

const { databases, ids } = createTestDatabases();

describe.each(ids)('LogReads of a log written on %p', databaseId => {
  it('reads what a fresh read of the store reads, as the log grows and is cut, once for many readers', async () => {
    const knex = await databases.init(databaseId);
    const database = mockServices.database({ knex });
    const runs = await DatabaseRunsStore.create({ database });
    const store = await DatabaseRunLogStore.create({ database });
    const run = await createTestRun(runs);
    const events = new RunEvents();
    const log = openRunLog(
      {
        logStore: store,
        events,
        logger: { warn: jest.fn() } as unknown as LoggerService,
        logCapBytes: 40_000,
      },
      run.id,
      0,
    );
    const storeReads = jest.spyOn(store, 'readLog');
    const reads = new LogReads(store, events);
    /**
     * Every page, as ten readers at once read it, checked against a fresh
     * read; returns how many reads of the store they made.
     */
    const readAll = async () => {
      storeReads.mockClear();
      const readers = Array.from({ length: 10 }, async () => {
        const all: RunLogChunk[] = [];
        for (;;) {
          const page = await reads.readLog(run.id, {
            afterSeq: all.length ? all[all.length - 1].seq : -1,
            limit: 16,
          });
          all.push(...page);
          if (page.length < 16) return all;
        }
      });
      const got = await Promise.all(readers);
      const made = storeReads.mock.calls.length;
      const fresh = await store.readLog(run.id, {
        afterSeq: -1,
        limit: 10_000,
      });
      for (const all of got) expect(all).toEqual(fresh);
      return { made, fresh };
    };

    for (let i = 0; i < 100; i++) {
      log.output(
        0,
        'stdout',
        `line ${String(i).padStart(4, '0')} ${'x'.repeat(90)}\n`,
      );
      await log.flush();
    }
    // 100 chunks, 7 pages: ten readers alone would make 70 reads.
    const first = await readAll();
    expect(first.fresh).toHaveLength(100);
    expect(first.made).toBeLessThanOrEqual(7 * 3);
    // Nothing new: each reads only past the last chunk it knows.
    expect((await readAll()).made).toBeLessThanOrEqual(3);

    // Past the cap: chunks are cut and the note at the seam is rewritten.
    for (let i = 100; i < 600; i++) {
      log.output(
        0,
        'stdout',
        `line ${String(i).padStart(4, '0')} ${'x'.repeat(90)}\n`,
      );
      if (i % 50 === 0) {
        await log.flush();
        await readAll();
      }
    }
    await log.close();
    const { fresh } = await readAll();
    expect(fresh.map(c => c.text).join('')).toMatch(/cut here/);
  });
});
