import { mockServices } from '@backstage/backend-test-utils';
import { createTestDatabases } from '@release-commands/test-utils';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { DatabaseRunLogStore } from '../database/DatabaseRunLogStore';
import { DatabaseRunsStore } from '../database/DatabaseRunsStore';
import { RunCleaner, RunCleanerOptions } from './RunCleaner';

const { databases, ids } = createTestDatabases();
const DAY_MS = 86_400_000;
const RETENTION_MS = 30 * DAY_MS;

describe.each(ids)('RunCleaner on %p', databaseId => {
  async function setUp(options: Partial<RunCleanerOptions> = {}) {
    const knex = await databases.init(databaseId);
    const database = mockServices.database({ knex });
    const runsStore = await DatabaseRunsStore.create({ database });
    const logStore = await DatabaseRunLogStore.create({ database });
    const logger = mockServices.logger.mock();
    const auditor = mockServices.auditor.mock();
    const cleaner = new RunCleaner({
      runsStore,
      logStore,
      logger,
      auditor,
      retentionMs: RETENTION_MS,
      runsPerBatch: 3,
      logChunksPerBatch: 10,
      ...options,
    });

    /** A run with a two-step snapshot and a log of `chunks` chunks. */
    async function aRun(how: {
      ageDays: number;
      status?: 'succeeded' | 'queued' | 'running';
      chunks?: number;
    }): Promise<string> {
      const id = randomUUID();
      const owner = `host:${id}`;
      await runsStore.createRun({
        id,
        entityRef: `component:default/${id}`,
        environment: 'production',
        image: 'shop:1',
        trigger: 'pipeline',
        triggeredBy: 'external:ci',
        envKeys: [],
        ownerInstance: owner,
        steps: [
          { label: 'Migrate', command: 'migrate', timeoutSeconds: 60 },
          { label: 'Check', command: 'check', timeoutSeconds: 60 },
        ],
      });
      const status = how.status ?? 'succeeded';
      if (status !== 'queued') {
        await runsStore.claimQueuedRuns({ instanceId: owner, maxRunning: 100 });
      }
      if (status === 'succeeded') {
        await runsStore.finishRun(id, { status, reason: null });
      }
      const at = new Date(Date.now() - how.ageDays * DAY_MS);
      await logStore.appendLog(
        id,
        Array.from({ length: how.chunks ?? 25 }, (_, seq) => ({
          seq,
          step: 0,
          stream: 'stdout' as const,
          at: at.toISOString(),
          text: `line ${seq}\n`,
        })),
      );
      await knex('release_command_runs')
        .where({ id })
        .update({
          created_at: at,
          heartbeat_at: at,
          ...(status === 'succeeded' ? { finished_at: at } : {}),
        });
      return id;
    }

    return { knex, runsStore, logStore, logger, auditor, cleaner, aRun };
  }

  /** The runs, steps and log chunks left for a run. */
  async function leftOf(knex: Knex, id: string) {
    const count = async (table: string, column: string) =>
      Number(
        (
          await knex(table)
            .where({ [column]: id })
            .count({ n: '*' })
        )[0].n,
      );
    return {
      runs: await count('release_command_runs', 'id'),
      steps: await count('release_command_run_steps', 'run_id'),
      logChunks: await count('release_command_run_logs', 'run_id'),
    };
  }

  it('removes old ended runs with their steps and logs in batches, and keeps active and recent ones', async () => {
    const { knex, runsStore, logStore, logger, auditor, cleaner, aRun } =
      await setUp();
    const old = [];
    for (let i = 0; i < 7; i++) old.push(await aRun({ ageDays: 40 + i }));
    const oldQueued = await aRun({ ageDays: 400, status: 'queued' });
    const oldRunning = await aRun({ ageDays: 400, status: 'running' });
    const recent = await aRun({ ageDays: 29 });
    const listSpy = jest.spyOn(runsStore, 'listRunsEndedBefore');
    const deleteSpy = jest.spyOn(runsStore, 'deleteEndedRuns');
    const logSpy = jest.spyOn(logStore, 'deleteRunLog');

    const cleanup = await cleaner.removeExpiredRuns();

    expect(cleanup).toMatchObject({ runs: 7, logChunks: 175, complete: true });
    expect(
      Math.abs(cleanup.endedBefore.getTime() - (Date.now() - RETENTION_MS)),
    ).toBeLessThan(60_000);
    for (const id of old) {
      expect(await leftOf(knex, id)).toEqual({
        runs: 0,
        steps: 0,
        logChunks: 0,
      });
    }
    for (const id of [oldQueued, oldRunning, recent]) {
      expect(await leftOf(knex, id)).toEqual({
        runs: 1,
        steps: 2,
        logChunks: 25,
      });
    }
    await expect(runsStore.getRun(oldRunning)).resolves.toMatchObject({
      status: 'running',
    });

    // At most three runs per transaction and ten chunks per statement.
    expect(deleteSpy.mock.calls.map(([batch]) => batch.length)).toEqual([
      3, 3, 1,
    ]);
    expect(listSpy).toHaveBeenCalledTimes(3);
    expect(logSpy).toHaveBeenCalledTimes(7);
    expect(logSpy.mock.calls.every(([, o]) => o?.batchSize === 10)).toBe(true);

    expect(logger.info).toHaveBeenCalledWith(
      expect.stringMatching(
        /^Removed 7 runs that ended more than 30 days ago \(before \S+\), with 175 log chunks$/,
      ),
    );
    expect(auditor.createEvent).toHaveBeenCalledTimes(1);
    expect(auditor.createEvent).toHaveBeenCalledWith({
      eventId: 'run-retention',
      severityLevel: 'medium',
      meta: {
        endedBefore: cleanup.endedBefore.toISOString(),
        retention: '30 days',
      },
    });
    const event = await auditor.createEvent.mock.results[0].value;
    expect(event.success).toHaveBeenCalledWith({
      meta: { removedRuns: 7, removedLogChunks: 175, complete: true },
    });

    // Nothing more to do: no audit event, no info line.
    await expect(cleaner.removeExpiredRuns()).resolves.toMatchObject({
      runs: 0,
      logChunks: 0,
      complete: true,
    });
    expect(auditor.createEvent).toHaveBeenCalledTimes(1);
    expect(logger.info).toHaveBeenCalledTimes(1);
  });

  it('stops between runs when the task is aborted and leaves the rest for the next pass', async () => {
    const { knex, logStore, logger, cleaner, aRun } = await setUp();
    const old = [];
    for (let i = 0; i < 5; i++) old.push(await aRun({ ageDays: 40 + i }));
    const controller = new AbortController();
    const deleteLog = logStore.deleteRunLog.bind(logStore);
    let logsDeleted = 0;
    jest.spyOn(logStore, 'deleteRunLog').mockImplementation(async (...args) => {
      const n = await deleteLog(...args);
      if (++logsDeleted === 2) controller.abort();
      return n;
    });

    await expect(
      cleaner.removeExpiredRuns(controller.signal),
    ).resolves.toMatchObject({ runs: 2, logChunks: 50, complete: false });
    // The two that ended first went, whole; the others are untouched.
    const left = await Promise.all(old.map(id => leftOf(knex, id)));
    expect(left.map(l => l.runs)).toEqual([1, 1, 1, 0, 0]);
    expect(left.map(l => l.logChunks)).toEqual([25, 25, 25, 0, 0]);
    expect(logger.info).toHaveBeenCalledWith(
      expect.stringContaining('stopped early, the rest goes in the next pass'),
    );

    await expect(cleaner.removeExpiredRuns()).resolves.toMatchObject({
      runs: 3,
      complete: true,
    });
    for (const id of old) {
      expect((await leftOf(knex, id)).runs).toBe(0);
    }
  });

  it('fails the audit event and says how far it got when the database refuses', async () => {
    const { runsStore, auditor, cleaner, aRun } = await setUp();
    for (let i = 0; i < 4; i++) await aRun({ ageDays: 40 + i });
    const deleteRuns = runsStore.deleteEndedRuns.bind(runsStore);
    jest
      .spyOn(runsStore, 'deleteEndedRuns')
      .mockImplementationOnce(deleteRuns)
      .mockRejectedValueOnce(new Error('connection reset'));

    await expect(cleaner.removeExpiredRuns()).rejects.toThrow(
      /^Removing runs that ended before \S+ failed after 3 runs; caused by Error: connection reset$/,
    );
    const event = await auditor.createEvent.mock.results[0].value;
    expect(event.fail).toHaveBeenCalledWith({
      error: expect.objectContaining({ message: 'connection reset' }),
      meta: { removedRuns: 3, removedLogChunks: 100 },
    });
    expect(event.success).not.toHaveBeenCalled();
  });

  it('removes a long log in many small statements', async () => {
    const { knex, cleaner, aRun } = await setUp({ logChunksPerBatch: 100 });
    const id = await aRun({ ageDays: 31, chunks: 1050 });
    const deletes: number[] = [];
    const onResponse = (response: unknown, query: { method?: string }) => {
      if (query.method === 'del') deletes.push(Number(response));
    };
    knex.on('query-response', onResponse);
    try {
      await expect(cleaner.removeExpiredRuns()).resolves.toMatchObject({
        runs: 1,
        logChunks: 1050,
      });
    } finally {
      knex.off('query-response', onResponse);
    }
    // Eleven statements for the log, then the steps and the run.
    expect(deletes).toEqual([...Array(10).fill(100), 50, 2, 1]);
    expect(await leftOf(knex, id)).toEqual({
      runs: 0,
      steps: 0,
      logChunks: 0,
    });
  });
});
