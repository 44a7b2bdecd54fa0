import { mockServices } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { createTestDatabases } from '@release-commands/test-utils';
import { randomUUID } from 'node:crypto';
import { DatabaseRunsStore } from './DatabaseRunsStore';
import { NewRun } from './RunsStore';

const { databases, ids } = createTestDatabases();
const SHOP = 'component:default/shop';
const BLOG = 'component:default/blog';

function newRun(overrides: Partial<NewRun> = {}): NewRun {
  return {
    id: randomUUID(),
    entityRef: SHOP,
    environment: 'production',
    image: 'shop:1',
    trigger: 'pipeline',
    triggeredBy: 'external:ci',
    envKeys: ['DATABASE_URL'],
    ownerInstance: 'host:1:a',
    steps: [
      { label: 'Migrate', command: 'migrate', timeoutSeconds: 1800 },
      { label: 'Check', command: 'check', timeoutSeconds: 60 },
      { label: 'Fix tree', command: 'fix-tree', timeoutSeconds: 60 },
    ],
    ...overrides,
  };
}

describe.each(ids)('DatabaseRunsStore on %p', databaseId => {
  async function createStore() {
    const knex = await databases.init(databaseId);
    const store = await DatabaseRunsStore.create({
      database: mockServices.database({ knex }),
    });
    return { knex, store };
  }

  it('creates a queued run with a snapshot of its steps and keeps no env values', async () => {
    const { knex, store } = await createStore();
    const created = await store.createRun(newRun());
    expect(created).toMatchObject({
      entityRef: SHOP,
      environment: 'production',
      status: 'queued',
      envKeys: ['DATABASE_URL'],
      reason: null,
      startedAt: null,
      image: 'shop:1',
      imageId: null,
      imageDigest: null,
      steps: [
        { position: 0, label: 'Migrate', status: 'pending', exitCode: null },
        { position: 1, label: 'Check', timeoutSeconds: 60 },
        { position: 2, label: 'Fix tree', oomKilled: false },
      ],
    });
    await expect(store.getRun(created.id)).resolves.toEqual(created);
    const [row] = await knex('release_command_runs').select();
    expect(JSON.stringify(row)).not.toMatch(/postgres:\/\//);
  });

  it('refuses a second active run for the same entity and environment, naming the active one', async () => {
    const { store } = await createStore();
    const first = await store.createRun(newRun());
    const second = newRun();
    const refusal = await store.createRun(second).catch(e => e);
    expect(refusal).toBeInstanceOf(ConflictError);
    expect(refusal.message).toContain(first.id);
    expect(refusal.message).toContain('environment "production"');
    await expect(store.getRun(second.id)).resolves.toBeUndefined();

    // Another environment or entity is independent.
    await expect(
      store.createRun(newRun({ environment: 'staging' })),
    ).resolves.toMatchObject({ status: 'queued' });
    await expect(
      store.createRun(newRun({ entityRef: BLOG })),
    ).resolves.toMatchObject({ status: 'queued' });

    // Once the first ends, the entity can run again.
    await store.finishRun(first.id, { status: 'failed', reason: 'x' });
    await expect(store.createRun(newRun())).resolves.toMatchObject({
      status: 'queued',
    });
  });

  it('lets exactly one of many simultaneous creates win', async () => {
    const { store } = await createStore();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.createRun(newRun())),
    );
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
    const refusals = results.flatMap(r =>
      r.status === 'rejected' ? [r.reason] : [],
    );
    expect(refusals).toEqual(
      Array.from({ length: 9 }, () => expect.any(ConflictError)),
    );
  });

  it('claims queued runs in order under a cap shared by all instances', async () => {
    const { store } = await createStore();
    const a = [];
    for (let i = 0; i < 3; i++) {
      a.push(
        await store.createRun(
          newRun({ entityRef: `component:default/a${i}`, ownerInstance: 'A' }),
        ),
      );
    }
    const b = await store.createRun(
      newRun({ entityRef: 'component:default/b', ownerInstance: 'B' }),
    );

    const first = await store.claimQueuedRuns({
      instanceId: 'A',
      maxRunning: 2,
    });
    expect(first.map(r => r.id)).toEqual([a[0].id, a[1].id]);
    expect(first.every(r => r.status === 'running' && r.startedAt)).toBe(true);
    // The cap is full for everybody.
    await expect(
      store.claimQueuedRuns({ instanceId: 'B', maxRunning: 2 }),
    ).resolves.toEqual([]);

    await store.finishRun(a[0].id, { status: 'succeeded', reason: null });
    const forB = await store.claimQueuedRuns({
      instanceId: 'B',
      maxRunning: 2,
    });
    expect(forB.map(r => r.id)).toEqual([b.id]);
    await expect(
      store.claimQueuedRuns({ instanceId: 'A', maxRunning: 2 }),
    ).resolves.toEqual([]);
  });

  it('never claims more than the cap when instances claim at the same time', async () => {
    const { store } = await createStore();
    for (let i = 0; i < 12; i++) {
      await store.createRun(
        newRun({
          entityRef: `component:default/s${i}`,
          ownerInstance: `I${i % 4}`,
        }),
      );
    }
    const claims = await Promise.all(
      [0, 1, 2, 3].map(i =>
        store.claimQueuedRuns({ instanceId: `I${i}`, maxRunning: 5 }),
      ),
    );
    expect(claims.flat()).toHaveLength(5);
  });

  it('records steps and ends a run: pending steps skipped, lock released, only once', async () => {
    const { store } = await createStore();
    const run = await store.createRun(newRun());
    await store.claimQueuedRuns({ instanceId: 'host:1:a', maxRunning: 4 });
    expect(await store.startStep(run.id, 0)).toBe(true);
    await store.setStepWorkload(run.id, 0, 'container-1');
    await store.finishStep(run.id, 0, {
      status: 'succeeded',
      exitCode: 0,
      oomKilled: false,
    });
    expect(await store.startStep(run.id, 1)).toBe(true);
    await store.finishStep(run.id, 1, {
      status: 'failed',
      exitCode: 137,
      oomKilled: true,
    });
    expect(
      await store.finishRun(run.id, {
        status: 'failed',
        reason: '"Check" ran out of memory',
      }),
    ).toBe(true);
    // A second ending (another replica, a late owner) changes nothing.
    expect(
      await store.finishRun(run.id, { status: 'interrupted', reason: 'late' }),
    ).toBe(false);
    expect(await store.startStep(run.id, 2)).toBe(false);

    const ended = await store.getRun(run.id);
    expect(ended).toMatchObject({
      status: 'failed',
      reason: '"Check" ran out of memory',
      steps: [
        { status: 'succeeded', exitCode: 0 },
        { status: 'failed', exitCode: 137, oomKilled: true },
        { status: 'skipped', exitCode: null, startedAt: null },
      ],
    });
    expect(ended!.finishedAt).not.toBeNull();
    expect(ended!.steps[0].startedAt).not.toBeNull();
  });

  it('records the image a running run resolved, and nothing for one that ended', async () => {
    const { store } = await createStore();
    const run = await store.createRun(newRun());
    const image = {
      id: `sha256:${'a'.repeat(64)}`,
      digest: `registry.example.com/shop@sha256:${'b'.repeat(64)}`,
    };
    // Queued: not resolved yet, nor recorded.
    await store.setRunImage(run.id, image);
    expect(await store.getRun(run.id)).toMatchObject({ imageId: null });

    await store.claimQueuedRuns({ instanceId: 'host:1:a', maxRunning: 4 });
    await store.setRunImage(run.id, image);
    expect(await store.getRun(run.id)).toMatchObject({
      image: 'shop:1',
      imageId: image.id,
      imageDigest: image.digest,
    });

    const other = await store.createRun(newRun({ entityRef: BLOG }));
    await store.claimQueuedRuns({ instanceId: 'host:1:a', maxRunning: 4 });
    await store.setRunImage(other.id, { id: image.id, digest: null });
    await store.finishRun(other.id, { status: 'succeeded', reason: null });
    await store.setRunImage(other.id, { id: 'sha256:late', digest: 'late' });
    expect(await store.getRun(other.id)).toMatchObject({
      imageId: image.id,
      imageDigest: null,
    });
  });

  it('cancels a queued run at once, asks the owner of a running one, and refuses an ended one', async () => {
    const { store } = await createStore();
    const queued = await store.createRun(newRun());
    await expect(
      store.requestCancel(queued.id, 'user:default/ada'),
    ).resolves.toMatchObject({
      kind: 'cancelled',
      run: {
        status: 'cancelled',
        reason: 'Cancelled by user:default/ada before any command ran.',
        steps: [
          { status: 'skipped' },
          { status: 'skipped' },
          { status: 'skipped' },
        ],
      },
    });

    const running = await store.createRun(newRun());
    await store.claimQueuedRuns({ instanceId: 'host:1:a', maxRunning: 4 });
    await expect(
      store.requestCancel(running.id, 'user:default/bob'),
    ).resolves.toMatchObject({
      kind: 'requested',
      run: { status: 'running', cancelRequestedBy: 'user:default/bob' },
    });
    const beat = await store.heartbeat('host:1:a', [running.id, queued.id]);
    expect(beat).toEqual({
      cancelRequested: [running.id],
      ended: [queued.id],
    });

    await expect(
      store.requestCancel(queued.id, 'user:default/ada'),
    ).resolves.toMatchObject({ kind: 'final' });
    await expect(
      store.requestCancel(randomUUID(), 'user:default/ada'),
    ).resolves.toBeUndefined();
  });

  it('interrupts runs whose owner stopped heart-beating or is gone, and tells dead runs from live ones', async () => {
    const { store } = await createStore();
    const stale = await store.createRun(newRun({ ownerInstance: 'dead' }));
    await store.claimQueuedRuns({ instanceId: 'dead', maxRunning: 4 });
    await store.startStep(stale.id, 0);
    const gone = await store.createRun(
      newRun({ entityRef: BLOG, ownerInstance: 'gone' }),
    );
    const live = await store.createRun(
      newRun({ entityRef: 'component:default/live', ownerInstance: 'live' }),
    );
    expect((await store.activeRunOwners()).sort()).toEqual([
      'dead',
      'gone',
      'live',
    ]);

    await new Promise(resolve => setTimeout(resolve, 50));
    await store.heartbeat('live', [live.id]);
    // On the database's clock: the dead owner's run is older than 30 ms.
    expect(await store.isRunAlive(stale.id, 30)).toBe(false);
    expect(await store.isRunAlive(live.id, 30_000)).toBe(true);
    // Not ours to judge: another installation may share the engine.
    expect(await store.isRunAlive(randomUUID(), 30)).toBe(true);

    const interrupted = await store.interruptStaleRuns({
      staleAfterMs: 60_000,
      goneOwners: ['gone'],
      workloadGraceMs: 1000,
    });
    expect(interrupted.map(r => r.id)).toEqual([gone.id]);
    // Every run is stale at 0 ms, but the caller's own are left to it.
    const more = await store.interruptStaleRuns({
      staleAfterMs: 0,
      exceptOwner: 'live',
      workloadGraceMs: 1000,
    });
    expect(more.map(r => r.id)).toEqual([stale.id]);
    expect(more[0]).toMatchObject({
      status: 'interrupted',
      steps: [
        { status: 'interrupted' },
        { status: 'skipped' },
        { status: 'skipped' },
      ],
    });
    expect(more[0].reason).toMatch(/not retried/);
    await expect(store.getRun(live.id)).resolves.toMatchObject({
      status: 'queued',
    });
    expect(await store.isRunAlive(stale.id, 30_000)).toBe(false);

    // Its first command may still run in a container the dead owner left:
    // the entity stays locked until that is removed, or times out.
    const refusal = await store.createRun(newRun()).catch(e => e);
    expect(refusal).toBeInstanceOf(ConflictError);
    expect(refusal.message).toMatch(
      new RegExp(
        `${stale.id} was interrupted, and its last command may still be running .* at the latest at 20\\d\\d-`,
      ),
    );
    // A run that was interrupted between commands locks nothing.
    await expect(
      store.createRun(newRun({ entityRef: BLOG })),
    ).resolves.toMatchObject({ status: 'queued' });

    expect(await store.releaseEndedLocks({ expiredOnly: true })).toEqual([]);
    expect(await store.releaseEndedLocks({ expiredOnly: false })).toEqual([
      stale.id,
    ]);
    await expect(store.createRun(newRun())).resolves.toMatchObject({
      status: 'queued',
    });
  });

  // Waits for the lapse of a 3.2 s lock on a clock that may count whole
  // seconds: more than Jest's default 5 s under load.
  it('lets the lock of an interrupted run lapse when its command would have timed out', async () => {
    const { store } = await createStore();
    const run = await store.createRun(
      newRun({
        ownerInstance: 'dead',
        steps: [{ label: 'Quick', command: 'quick', timeoutSeconds: 3 }],
      }),
    );
    await store.claimQueuedRuns({ instanceId: 'dead', maxRunning: 4 });
    await store.startStep(run.id, 0);
    const interruptedAt = Date.now();
    // Its owner is gone: interrupted whatever its heartbeat says (a stale
    // window of 0 ms misses a heartbeat written in the same millisecond).
    const interrupted = await store.interruptStaleRuns({
      staleAfterMs: 60_000,
      goneOwners: ['dead'],
      workloadGraceMs: 200,
    });
    expect(interrupted.map(r => r.id)).toEqual([run.id]);
    // Asked well within the 3.2 s the lock lasts.
    expect(await store.releaseEndedLocks({ expiredOnly: true })).toEqual([]);
    // Then released once it lapses, on the database's clock (whole seconds
    // on some): asked until then.
    let released: string[] = [];
    while (released.length === 0 && Date.now() - interruptedAt < 30_000) {
      await new Promise(resolve => setTimeout(resolve, 200));
      released = await store.releaseEndedLocks({ expiredOnly: true });
    }
    expect(released).toEqual([run.id]);
    await expect(store.createRun(newRun())).resolves.toMatchObject({
      status: 'queued',
    });
  }, 45_000);

  it('refuses a run when the queue check throws, writing nothing', async () => {
    const { store } = await createStore();
    await store.createRun(newRun({ environment: 'staging' }));
    const seen: unknown[] = [];
    const refusal = await store
      .createRun(newRun({ entityRef: SHOP }), {
        checkQueue: queued => {
          seen.push(queued);
          throw new Error('too many');
        },
      })
      .catch(e => e);
    expect(refusal.message).toBe('too many');
    expect(seen).toEqual([{ entity: 1, actor: 1 }]);
    expect((await store.listRuns(SHOP, { limit: 10 })).runs).toHaveLength(1);
    await expect(
      store.createRun(newRun({ entityRef: BLOG }), {
        checkQueue: queued => seen.push(queued),
      }),
    ).resolves.toMatchObject({ status: 'queued' });
    expect(seen[1]).toEqual({ entity: 0, actor: 1 });
  });

  it('pages an entity runs newest first with a cursor', async () => {
    const { store } = await createStore();
    const created = [];
    for (let i = 0; i < 5; i++) {
      const run = await store.createRun(newRun());
      await store.finishRun(run.id, { status: 'succeeded', reason: null });
      created.push(run.id);
      await new Promise(resolve => setTimeout(resolve, 2));
    }
    await store.createRun(newRun({ entityRef: BLOG }));
    const first = await store.listRuns(SHOP, { limit: 2 });
    expect(first.runs.map(r => r.id)).toEqual([created[4], created[3]]);
    const second = await store.listRuns(SHOP, {
      limit: 2,
      cursor: first.nextCursor,
    });
    expect(second.runs.map(r => r.id)).toEqual([created[2], created[1]]);
    const last = await store.listRuns(SHOP, {
      limit: 2,
      cursor: second.nextCursor,
    });
    expect(last.runs.map(r => r.id)).toEqual([created[0]]);
    expect(last.nextCursor).toBeUndefined();
    await expect(
      store.listRuns(SHOP, { limit: 2, cursor: 'nonsense' }),
    ).rejects.toThrow(/cursor must be a nextCursor value/);
  });

  /** Ends a run as if it had ended at `finishedAt`. */
  async function endedAt(
    knex: Awaited<ReturnType<typeof createStore>>['knex'],
    store: DatabaseRunsStore,
    finishedAt: Date,
    overrides: Partial<NewRun> = {},
  ) {
    const run = await store.createRun(
      newRun({ entityRef: `component:default/${randomUUID()}`, ...overrides }),
    );
    await store.finishRun(run.id, { status: 'succeeded', reason: null });
    await knex('release_command_runs')
      .where({ id: run.id })
      .update({ created_at: finishedAt, finished_at: finishedAt });
    return run.id;
  }

  it('lists the runs that ended before a time, longest ended first, never an active one', async () => {
    const { knex, store } = await createStore();
    const day = (n: number) => new Date(Date.UTC(2026, 0, n));
    const old3 = await endedAt(knex, store, day(3));
    const old1 = await endedAt(knex, store, day(1));
    const old2 = await endedAt(knex, store, day(2));
    const recent = await endedAt(knex, store, new Date());
    // Active runs created long ago: one queued, one running.
    const queued = await store.createRun(newRun({ ownerInstance: 'q' }));
    const running = await store.createRun(
      newRun({ entityRef: BLOG, ownerInstance: 'r' }),
    );
    await store.claimQueuedRuns({ instanceId: 'r', maxRunning: 4 });
    await knex('release_command_runs')
      .whereIn('id', [queued.id, running.id])
      .update({ created_at: day(1), heartbeat_at: day(1) });

    const cutoff = day(10);
    expect(await store.listRunsEndedBefore(cutoff, 10)).toEqual([
      old1,
      old2,
      old3,
    ]);
    expect(await store.listRunsEndedBefore(cutoff, 2)).toEqual([old1, old2]);
    expect(await store.listRunsEndedBefore(day(2), 10)).toEqual([old1]);
    expect(
      await store.listRunsEndedBefore(new Date(Date.now() + 60_000), 10),
    ).toEqual([old1, old2, old3, recent]);
  });

  it('deletes ended runs with their steps, and keeps active ones and others', async () => {
    const { knex, store } = await createStore();
    const old = new Date(Date.UTC(2026, 0, 1));
    const gone = [
      await endedAt(knex, store, old),
      await endedAt(knex, store, old),
    ];
    const kept = await endedAt(knex, store, old);
    const running = await store.createRun(newRun({ ownerInstance: 'r' }));
    await store.claimQueuedRuns({ instanceId: 'r', maxRunning: 4 });
    await store.startStep(running.id, 0);

    // An active run named among them is kept, whatever asked.
    expect(await store.deleteEndedRuns([...gone, running.id])).toBe(2);
    for (const id of gone) {
      await expect(store.getRun(id)).resolves.toBeUndefined();
    }
    const steps = await knex('release_command_run_steps')
      .distinct('run_id')
      .orderBy('run_id');
    expect(steps.map(r => r.run_id).sort()).toEqual([kept, running.id].sort());
    await expect(store.getRun(running.id)).resolves.toMatchObject({
      status: 'running',
      steps: [
        { status: 'running' },
        { status: 'pending' },
        { status: 'pending' },
      ],
    });
    await expect(store.getRun(kept)).resolves.toMatchObject({
      status: 'succeeded',
    });
    expect(await store.deleteEndedRuns([])).toBe(0);
    expect(await store.deleteEndedRuns(gone)).toBe(0);
  });
});
