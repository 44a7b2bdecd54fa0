import { mockServices } from '@backstage/backend-test-utils';
import { performance } from 'node:perf_hooks';
import { ConflictError } from '@backstage/errors';
import {
  PreparedImage,
  ReleaseCommandExecutor,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import { isFinalRunStatus } from '@release-commands/backstage-plugin-release-commands-common';
import { createTestDatabases } from '@release-commands/test-utils';
import { DatabaseReleaseCommandsStore } from '../database/DatabaseReleaseCommandsStore';
import { DatabaseRunLogStore } from '../database/DatabaseRunLogStore';
import { DatabaseRunsStore } from '../database/DatabaseRunsStore';
import { NewRun, RunsStore } from '../database/RunsStore';
import { RunEvents } from './RunEvents';
import { RunOrchestrator } from './RunOrchestrator';
import { RunSettings } from './RunSettings';

const { databases, ids } = createTestDatabases();
const SHOP = 'component:default/shop';
const BLOG = 'component:default/blog';

/**
 * An in-memory executor for the orchestrator's own logic (ordering, the cap,
 * verdicts, cancels). The command text is a tiny script: `print TEXT`,
 * `exit N`, `hang`, `oom`. The Docker executor has its own tests against a
 * real engine, and the API tests run everything against one.
 */
class ScriptedExecutor implements ReleaseCommandExecutor {
  readonly description = 'scripted executor';
  running = 0;
  maxRunning = 0;
  readonly started: string[] = [];
  readonly envs: Array<Record<string, string>> = [];
  readonly images: string[] = [];
  /** What prepareImage resolves images to; nothing by default. */
  prepared?: PreparedImage;
  /** The runs endRun was called for, in order. */
  readonly endedRuns: string[] = [];
  /** Makes endRun fail, as an executor whose cluster is gone would. */
  endRunFails = false;

  async endRun(runId: string) {
    this.endedRuns.push(runId);
    if (this.endRunFails) throw new Error('cluster unreachable');
  }

  async prepareImage(options: { image: string; log(line: string): void }) {
    if (options.image.startsWith('missing')) {
      throw new Error(`Image ${options.image} is not present`);
    }
    options.log(`Image ${options.image} is present`);
    return this.prepared;
  }

  async runStep(request: StepRequest): Promise<StepResult> {
    const script = request.argv[request.argv.length - 1];
    this.started.push(`${request.labels.runId}:${script}`);
    this.envs.push(request.env);
    this.images.push(request.image);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    request.onStarted?.(`fake-${request.labels.step}`);
    try {
      await new Promise(resolve => setTimeout(resolve, 5));
      for (const part of script.split(';').map(p => p.trim())) {
        const [verb, ...rest] = part.split(' ');
        const arg = rest.join(' ');
        if (verb === 'print') {
          // Split in two chunks, as a pipe would.
          const half = Math.floor(arg.length / 2);
          request.onOutput('stdout', Buffer.from(arg.slice(0, half)));
          request.onOutput('stdout', Buffer.from(`${arg.slice(half)}\n`));
        } else if (verb === 'exit') {
          return { exitCode: Number(arg), oomKilled: false, workloadId: 'w' };
        } else if (verb === 'oom') {
          return { exitCode: 137, oomKilled: true, workloadId: 'w' };
        } else if (verb === 'hang') {
          await new Promise<void>(resolve => {
            if (request.signal.aborted) resolve();
            request.signal.addEventListener('abort', () => resolve());
          });
          return { exitCode: 143, oomKilled: false, workloadId: 'w' };
        }
      }
      return { exitCode: 0, oomKilled: false, workloadId: 'w' };
    } finally {
      this.running--;
    }
  }

  async removeLeftovers() {
    return [];
  }
}

const settings: RunSettings = {
  defaultTimeoutSeconds: 1800,
  maxConcurrentRuns: 2,
  logCapBytes: 1024 * 1024,
  outputMaxLoopLagMs: 20,
  heartbeatIntervalMs: 50,
  staleAfterMs: 500,
  recoveryIntervalMs: 100,
  stopGracePeriodMs: 1000,
  runDeadlineMs: 60_000,
  maxQueuedPerEntity: 10,
  maxQueuedPerActor: 50,
  maxHeldSecretBytes: 1024 * 1024,
  preflight: false,
};

describe.each(ids)('RunOrchestrator on %p', databaseId => {
  async function setUp(
    overrides: Partial<RunSettings> = {},
    /** Wraps the store the orchestrator uses, to time its calls. */
    wrapStore: (store: RunsStore) => RunsStore = store => store,
  ) {
    const knex = await databases.init(databaseId);
    const database = mockServices.database({ knex });
    const commandsStore = await DatabaseReleaseCommandsStore.create({
      database,
    });
    const runsStore = await DatabaseRunsStore.create({ database });
    const logStore = await DatabaseRunLogStore.create({ database });
    const executor = new ScriptedExecutor();
    const logger = mockServices.logger.mock();
    const orchestrator = new RunOrchestrator({
      runsStore: wrapStore(runsStore),
      logStore,
      commandsStore,
      executor,
      logger,
      events: new RunEvents(),
      settings: { ...settings, ...overrides },
    });
    await orchestrator.start();
    const setCommands = async (
      entityRef: string,
      commands: Array<{
        label: string;
        command: string;
        enabled?: boolean;
        timeoutSeconds?: number;
      }>,
    ) => {
      const { revision } = await commandsStore.getCommands(entityRef);
      await commandsStore.replaceCommands({
        entityRef,
        revision,
        commands,
        actor: 'user:default/ada',
      });
    };
    const logOf = async (runId: string) =>
      (await logStore.readLog(runId, { afterSeq: -1, limit: 1000 }))
        .map(c => c.text)
        .join('');
    const deploy = (entityRef = SHOP, env: Record<string, string> = {}) =>
      orchestrator.createRun({
        entityRef,
        image: 'shop:1',
        env,
        environment: 'production',
        trigger: 'pipeline',
        actor: 'external:ci',
      });
    return {
      orchestrator,
      runsStore,
      executor,
      logger,
      setCommands,
      logOf,
      deploy,
    };
  }

  it('runs enabled commands in order and writes the log like a deployment log', async () => {
    const { orchestrator, runsStore, setCommands, logOf, deploy } =
      await setUp();
    await setCommands(SHOP, [
      {
        label: 'Migrate database',
        command: 'print Applying 0001_initial... OK',
      },
      { label: 'Disabled', command: 'exit 9', enabled: false },
      { label: 'Collect', command: 'print done' },
    ]);
    const run = await deploy();
    expect(run.steps.map(s => s.label)).toEqual([
      'Migrate database',
      'Collect',
    ]);
    await orchestrator.idle();

    const ended = await runsStore.getRun(run.id);
    expect(ended).toMatchObject({
      status: 'succeeded',
      reason: null,
      steps: [
        { status: 'succeeded', exitCode: 0 },
        { status: 'succeeded', exitCode: 0 },
      ],
    });
    const log = await logOf(run.id);
    expect(log).toMatch(
      /^===== docker release commands =====\n2 release commands of component:default\/shop on shop:1 \(environment production, triggered by external:ci, scripted executor\)\nImage shop:1 is present\n\[1\/2\] Migrate database: print Applying 0001_initial\.\.\. OK\nApplying 0001_initial\.\.\. OK\n\[1\/2\] Migrate database passed \(exit 0, \d+\.\ds\)\n\[2\/2\] Collect: print done\ndone\n\[2\/2\] Collect passed \(exit 0, \d+\.\ds\)\nRelease commands passed: 2 commands succeeded in \d+\.\ds\. The deployment may proceed\.\n$/,
    );
    await orchestrator.stop();
  });

  it('runs every step on the image as the executor resolved it, and records it', async () => {
    const { orchestrator, runsStore, executor, setCommands, logOf, deploy } =
      await setUp();
    const id = `sha256:${'c'.repeat(64)}`;
    const digest = `registry.example.com/shop@sha256:${'d'.repeat(64)}`;
    executor.prepared = { reference: id, id, digest, labels: {} };
    await setCommands(SHOP, [
      { label: 'One', command: 'print 1' },
      { label: 'Two', command: 'print 2' },
    ]);
    const run = await deploy();
    await orchestrator.idle();

    expect(executor.images).toEqual([id, id]);
    expect(await runsStore.getRun(run.id)).toMatchObject({
      status: 'succeeded',
      image: 'shop:1',
      imageId: id,
      imageDigest: digest,
    });
    expect(await logOf(run.id)).toContain(
      `Image shop:1 is present\nImage shop:1 is ${id} (${digest}); every step runs it\n[1/2] One: print 1\n`,
    );
    await orchestrator.stop();
  });

  it('runs the image as asked, and records no id, when the executor resolves none', async () => {
    const { orchestrator, runsStore, executor, setCommands, deploy } =
      await setUp();
    await setCommands(SHOP, [{ label: 'One', command: 'print 1' }]);
    const run = await deploy();
    await orchestrator.idle();

    expect(executor.images).toEqual(['shop:1']);
    expect(await runsStore.getRun(run.id)).toMatchObject({
      imageId: null,
      imageDigest: null,
    });
    await orchestrator.stop();
  });

  it('fails the run at the first failing step and skips the rest, with a reason to act on', async () => {
    const { orchestrator, runsStore, setCommands, logOf, deploy } =
      await setUp();
    await setCommands(SHOP, [
      { label: 'Migrate database', command: 'print ok' },
      {
        label: 'Security checks',
        command: 'print HTTPS is not enforced; exit 1',
      },
      { label: 'Fix tree', command: 'print never' },
    ]);
    const run = await deploy();
    await orchestrator.idle();
    const ended = await runsStore.getRun(run.id);
    expect(ended).toMatchObject({
      status: 'failed',
      reason: '"Security checks" exited with code 1.',
      steps: [
        { status: 'succeeded' },
        { status: 'failed', exitCode: 1 },
        { status: 'skipped', exitCode: null },
      ],
    });
    const log = await logOf(run.id);
    expect(log).toContain('[2/3] Security checks failed (exit 1, ');
    expect(log).toContain('[3/3] Fix tree skipped\n');
    expect(log).not.toContain('never');
    expect(log.trimEnd().split('\n').pop()).toBe(
      'Release commands failed: "Security checks" exited with code 1. The deployment must not proceed.',
    );
    await orchestrator.stop();
  });

  it('says when a command ran out of memory', async () => {
    const { orchestrator, runsStore, setCommands, deploy } = await setUp();
    await setCommands(SHOP, [{ label: 'Big', command: 'oom' }]);
    const run = await deploy();
    await orchestrator.idle();
    const ended = await runsStore.getRun(run.id);
    expect(ended?.status).toBe('failed');
    expect(ended?.steps[0]).toMatchObject({ exitCode: 137, oomKilled: true });
    expect(ended?.reason).toMatch(/^"Big" ran out of memory and was killed/);
    await orchestrator.stop();
  });

  it('times a step out, stops it, and fails the run as timed_out', async () => {
    const { orchestrator, runsStore, setCommands, logOf, deploy } =
      await setUp();
    await setCommands(SHOP, [
      { label: 'Slow', command: 'hang', timeoutSeconds: 1 },
      { label: 'Next', command: 'print never' },
    ]);
    const run = await deploy();
    await orchestrator.idle();
    const ended = await runsStore.getRun(run.id);
    expect(ended).toMatchObject({
      status: 'timed_out',
      reason: '"Slow" timed out after 1.0s and was stopped.',
      steps: [{ status: 'timed_out', exitCode: 143 }, { status: 'skipped' }],
    });
    expect(await logOf(run.id)).toContain(
      '[1/2] Slow timed out after 1.0s and was stopped (exit 143, ',
    );
    await orchestrator.stop();
  });

  it("tells the executor when each run ended, and a failure there never changes the run's outcome", async () => {
    const { orchestrator, runsStore, executor, logger, setCommands, deploy } =
      await setUp();
    await setCommands(SHOP, [{ label: 'Fail', command: 'exit 3' }]);
    await setCommands(BLOG, [{ label: 'Pass', command: 'print ok' }]);
    const failed = await deploy(SHOP);
    await orchestrator.idle();
    executor.endRunFails = true;
    const passed = await deploy(BLOG);
    await orchestrator.idle();

    expect(executor.endedRuns).toEqual([failed.id, passed.id]);
    expect(await runsStore.getRun(failed.id)).toMatchObject({
      status: 'failed',
    });
    expect(await runsStore.getRun(passed.id)).toMatchObject({
      status: 'succeeded',
    });
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(
        `could not release what it kept for release command run ${passed.id}: Error: cluster unreachable`,
      ),
    );
    await orchestrator.stop();
  });

  it('cancels a running run, and a queued one before it starts', async () => {
    const { orchestrator, runsStore, setCommands, logOf, deploy } = await setUp(
      { maxConcurrentRuns: 1 },
    );
    await setCommands(SHOP, [{ label: 'Hang', command: 'hang' }]);
    await setCommands('component:default/blog', [
      { label: 'Hang', command: 'hang' },
    ]);
    const running = await deploy();
    const queued = await deploy('component:default/blog');
    await waitFor(
      async () =>
        (await runsStore.getRun(running.id))?.steps[0].status === 'running',
    );
    expect((await runsStore.getRun(queued.id))?.status).toBe('queued');

    await orchestrator.cancel(queued.id, 'user:default/bob');
    await orchestrator.cancel(running.id, 'user:default/ada');
    await orchestrator.idle();
    await expect(runsStore.getRun(running.id)).resolves.toMatchObject({
      status: 'cancelled',
      reason: 'Cancelled by user:default/ada while "Hang" was running.',
      steps: [{ status: 'cancelled' }],
    });
    await expect(runsStore.getRun(queued.id)).resolves.toMatchObject({
      status: 'cancelled',
      reason: 'Cancelled by user:default/bob before any command ran.',
    });
    expect(await logOf(queued.id)).toContain('Release commands cancelled:');
    await expect(orchestrator.cancel(running.id, 'x')).rejects.toThrow(
      ConflictError,
    );
    await orchestrator.stop();
  });

  it('queues runs beyond the cap and runs them in order', async () => {
    const { orchestrator, executor, setCommands, deploy, runsStore } =
      await setUp({ maxConcurrentRuns: 2 });
    const runs = [];
    for (let i = 0; i < 6; i++) {
      const ref = `component:default/s${i}`;
      await setCommands(ref, [{ label: 'Work', command: `print ${i}` }]);
      runs.push(await deploy(ref));
    }
    await orchestrator.idle();
    expect(executor.maxRunning).toBeLessThanOrEqual(2);
    // Each started once. Runs claimed together (the first two) reach the
    // executor in whichever order their first store write comes back; the
    // order is that of the claims, on the database's clock.
    expect(executor.started.map(s => s.split(':')[0]).sort()).toEqual(
      runs.map(r => r.id).sort(),
    );
    const ended = await Promise.all(runs.map(r => runsStore.getRun(r.id)));
    expect(ended.map(r => r?.status)).toEqual(Array(6).fill('succeeded'));
    const claimedAt = ended.map(r => Date.parse(r!.startedAt!));
    expect(claimedAt).toEqual([...claimedAt].sort((a, b) => a - b));
    // Beyond the cap, a run is claimed only once an earlier one has ended.
    for (let i = 2; i < runs.length; i++) {
      const firstEnd = Math.min(
        ...ended.slice(0, i).map(r => Date.parse(r!.finishedAt!)),
      );
      expect(claimedAt[i]).toBeGreaterThanOrEqual(firstEnd);
    }
    await orchestrator.stop();
  });

  it('refuses a second deploy of the same entity while one is active', async () => {
    const { orchestrator, setCommands, deploy } = await setUp();
    await setCommands(SHOP, [{ label: 'Hang', command: 'hang' }]);
    const first = await deploy();
    await expect(deploy()).rejects.toThrow(first.id);
    await orchestrator.cancel(first.id, 'user:default/ada');
    await orchestrator.idle();
    await orchestrator.stop();
  });

  it('passes env with RELEASE_COMMAND=1 and masks secrets split across chunks', async () => {
    const { orchestrator, executor, setCommands, logOf, deploy } =
      await setUp();
    await setCommands(SHOP, [
      { label: 'Print', command: 'print url=postgres://u:hunter22@db/x' },
    ]);
    const run = await deploy(SHOP, {
      DATABASE_URL: 'postgres://u:hunter22@db/x',
      PASSWORD: 'hunter22',
      DEBUG: '1',
    });
    await orchestrator.idle();
    expect(executor.envs[0]).toEqual({
      DATABASE_URL: 'postgres://u:hunter22@db/x',
      PASSWORD: 'hunter22',
      DEBUG: '1',
      RELEASE_COMMAND: '1',
    });
    const log = await logOf(run.id);
    expect(log).toContain('url=***\n');
    expect(log).not.toContain('hunter22');
    expect(log).toContain(
      'Variables: DATABASE_URL, DEBUG, PASSWORD (values are masked in this log, except 1 value shorter than 4 characters)',
    );
    await orchestrator.stop();
  });

  it('succeeds at once when an entity has no commands, and says so', async () => {
    const { orchestrator, runsStore, logOf, deploy } = await setUp();
    const run = await deploy();
    await orchestrator.idle();
    expect((await runsStore.getRun(run.id))?.status).toBe('succeeded');
    expect(await logOf(run.id)).toContain(
      'No release commands are configured for component:default/shop: nothing to run. The deployment may proceed.',
    );
    await orchestrator.stop();
  });

  it('fails the run with the reason when the image cannot be prepared', async () => {
    const { orchestrator, runsStore, setCommands, deploy } = await setUp();
    await setCommands(SHOP, [{ label: 'Migrate', command: 'print x' }]);
    const run = await orchestrator.createRun({
      entityRef: SHOP,
      image: 'missing:1',
      env: {},
      environment: 'production',
      trigger: 'manual',
      actor: 'user:default/ada',
    });
    await orchestrator.idle();
    await expect(runsStore.getRun(run.id)).resolves.toMatchObject({
      status: 'failed',
      reason: 'Image missing:1 is not present.',
      steps: [{ status: 'skipped' }],
    });
    await deploy(); // the lock was released
    await orchestrator.stop();
  });

  it.each([
    ['after', true],
    ['before', false],
  ])(
    "keeps a run's secrets from before its insert: the store pauses %s it, the heartbeat beats and another deploy claims meanwhile",
    async (_, afterInsert) => {
      const paused = deferred<string>();
      const resume = deferred<void>();
      let beats = 0;
      const { orchestrator, runsStore, executor, setCommands, deploy } =
        await setUp({ maxConcurrentRuns: 4 }, store =>
          Object.assign(Object.create(store), {
            async createRun(run: NewRun) {
              if (run.entityRef !== SHOP) return store.createRun(run);
              if (afterInsert) {
                const created = await store.createRun(run);
                paused.resolve(run.id);
                await resume.promise;
                return created;
              }
              paused.resolve(run.id);
              await resume.promise;
              return store.createRun(run);
            },
            async heartbeat(instanceId: string, runIds: string[]) {
              beats++;
              return store.heartbeat(instanceId, runIds);
            },
          }),
        );
      await setCommands(SHOP, [{ label: 'Check', command: 'print shop' }]);
      await setCommands(BLOG, [{ label: 'Check', command: 'print blog' }]);

      const shop = deploy(SHOP, { MY_SECRET: 'shop-secret' });
      const shopId = await paused.promise;
      // A beat starts only once the one before it was handled.
      const before = beats;
      await waitFor(async () => beats >= before + 2);
      const blog = await deploy(BLOG, { MY_SECRET: 'blog-secret' });
      if (afterInsert) {
        // The blog's claim took the shop's run too, before its insert returned.
        await waitFor(
          async () => (await runsStore.getRun(shopId))?.status !== 'queued',
        );
      }
      resume.resolve();
      expect((await shop).id).toBe(shopId);
      await waitFor(async () =>
        isFinalRunStatus((await runsStore.getRun(shopId))!.status),
      );
      await orchestrator.idle();

      const envOf = (runId: string) =>
        executor.envs[
          executor.started.findIndex(s => s.startsWith(`${runId}:`))
        ];
      expect(envOf(shopId)).toEqual({
        MY_SECRET: 'shop-secret',
        RELEASE_COMMAND: '1',
      });
      expect(envOf(blog.id)).toEqual({
        MY_SECRET: 'blog-secret',
        RELEASE_COMMAND: '1',
      });
      await expect(runsStore.getRun(shopId)).resolves.toMatchObject({
        status: 'succeeded',
      });
      await orchestrator.stop();
    },
  );

  it('fails a claimed run whose secrets it does not hold, and runs none of its commands', async () => {
    const { orchestrator, runsStore, executor, setCommands, logOf, deploy } =
      await setUp();
    // A run of this instance whose secrets are not in its memory.
    const lost = await runsStore.createRun({
      id: '00000000-0000-4000-8000-0000000005ec',
      entityRef: SHOP,
      environment: 'production',
      image: 'shop:1',
      trigger: 'pipeline',
      triggeredBy: 'external:ci',
      envKeys: ['DATABASE_URL', 'SECRET_KEY'],
      ownerInstance: orchestrator.instanceId,
      steps: [{ label: 'Migrate', command: 'print x', timeoutSeconds: 60 }],
    });
    await setCommands(BLOG, [{ label: 'Check', command: 'print blog' }]);
    await deploy(BLOG); // its claim takes both runs
    await waitFor(async () =>
      isFinalRunStatus((await runsStore.getRun(lost.id))!.status),
    );
    await orchestrator.idle();

    const ended = await runsStore.getRun(lost.id);
    expect(ended).toMatchObject({
      status: 'failed',
      steps: [{ status: 'skipped' }],
    });
    expect(ended?.reason).toBe(
      "The values of DATABASE_URL, SECRET_KEY were not in this backend instance's memory when the run started (they are never stored), so no command ran. Run the release commands again.",
    );
    expect(executor.started.filter(s => s.startsWith(lost.id))).toEqual([]);
    const log = await logOf(lost.id);
    expect(log).toContain('[1/1] Migrate skipped\n');
    expect(log.trimEnd().split('\n').pop()).toBe(
      `Release commands failed: ${ended?.reason} The deployment must not proceed.`,
    );
    await orchestrator.stop();
  });

  it('interrupts the runs of an instance that stopped heart-beating, without re-running them', async () => {
    const { orchestrator, runsStore, logOf } = await setUp();
    const orphan = await runsStore.createRun({
      id: '00000000-0000-4000-8000-00000000dead',
      entityRef: SHOP,
      environment: 'production',
      image: 'shop:1',
      trigger: 'pipeline',
      triggeredBy: 'external:ci',
      envKeys: [],
      ownerInstance: 'elsewhere:1:dead',
      steps: [
        { label: 'Migrate', command: 'print x', timeoutSeconds: 60 },
        { label: 'Check', command: 'print y', timeoutSeconds: 60 },
      ],
    });
    await runsStore.claimQueuedRuns({
      instanceId: 'elsewhere:1:dead',
      maxRunning: 5,
    });
    await runsStore.startStep(orphan.id, 0);
    // The closing lines follow the status change.
    await waitFor(async () =>
      (await logOf(orphan.id)).includes('Release commands interrupted'),
    );
    await expect(runsStore.getRun(orphan.id)).resolves.toMatchObject({
      status: 'interrupted',
      steps: [{ status: 'interrupted' }, { status: 'skipped' }],
    });
    expect(await logOf(orphan.id)).toMatch(
      /\[1\/2\] Migrate interrupted\n\[2\/2\] Check skipped\nRelease commands interrupted: The backend instance running this deploy stopped/,
    );
    await orchestrator.stop();
  });

  it('interrupts its own runs on shutdown and says why', async () => {
    const { orchestrator, runsStore, setCommands, deploy } = await setUp();
    await setCommands(SHOP, [{ label: 'Hang', command: 'hang' }]);
    const run = await deploy();
    await waitFor(
      async () =>
        (await runsStore.getRun(run.id))?.steps[0].status === 'running',
    );
    await orchestrator.stop();
    const ended = await runsStore.getRun(run.id);
    expect(ended).toMatchObject({
      status: 'interrupted',
      steps: [{ status: 'interrupted' }],
    });
    expect(ended?.reason).toMatch(
      /^The backend shut down while "Hang" was running/,
    );
  });

  it('stops a run at its whole-run deadline, as timed out', async () => {
    const { orchestrator, runsStore, setCommands, logOf, deploy } = await setUp(
      { runDeadlineMs: 300 },
    );
    await setCommands(SHOP, [
      { label: 'Hang', command: 'hang' },
      { label: 'After', command: 'print never' },
    ]);
    const run = await deploy();
    await orchestrator.idle();
    await expect(runsStore.getRun(run.id)).resolves.toMatchObject({
      status: 'timed_out',
      reason:
        'The run reached its deadline of 0.3s (releaseCommands.runs.maxRunSeconds) while "Hang" was running and was stopped.',
      steps: [{ status: 'timed_out' }, { status: 'skipped' }],
    });
    expect(await logOf(run.id)).toContain('[1/2] Hang timed_out (exit 143,');
    await orchestrator.stop();
  });

  it("masks the run's secrets in its reason as in its log", async () => {
    const { orchestrator, runsStore, setCommands, logOf } = await setUp();
    await setCommands(SHOP, [{ label: 'Migrate', command: 'print ok' }]);
    const run = await orchestrator.createRun({
      entityRef: SHOP,
      image: 'missing-s3cr3t-tag:1',
      env: { TAG_TOKEN: 's3cr3t-tag' },
      environment: 'production',
      trigger: 'pipeline',
      actor: 'external:ci',
    });
    await orchestrator.idle();
    const ended = await runsStore.getRun(run.id);
    expect(ended?.reason).toBe('Image missing-***:1 is not present.');
    expect(await logOf(run.id)).not.toContain('s3cr3t');
    await orchestrator.stop();
  });

  it('retries store writes on the run path until the store answers again', async () => {
    let failures = 0;
    const { orchestrator, runsStore, setCommands, deploy } = await setUp(
      {},
      store =>
        Object.assign(Object.create(store), {
          async startStep(runId: string, position: number) {
            if (failures++ < 2) throw new Error('connect ECONNREFUSED');
            return store.startStep(runId, position);
          },
          async finishStep(...args: Parameters<RunsStore['finishStep']>) {
            if (failures++ < 4) throw new Error('Connection terminated');
            return store.finishStep(...args);
          },
          async finishRun(...args: Parameters<RunsStore['finishRun']>) {
            if (failures++ < 6) throw new Error('connect ECONNREFUSED');
            return store.finishRun(...args);
          },
        }),
    );
    await setCommands(SHOP, [{ label: 'Migrate', command: 'print ok' }]);
    const run = await deploy();
    await orchestrator.idle();
    expect(failures).toBeGreaterThanOrEqual(6);
    await expect(runsStore.getRun(run.id)).resolves.toMatchObject({
      status: 'succeeded',
      steps: [{ status: 'succeeded' }],
    });
    await orchestrator.stop();
  });

  it('stops its own run when it cannot renew the lease for most of the stale window, saying why', async () => {
    let down = false;
    // When the last heartbeat that got through was sent: the lease was
    // renewed as of then, however long its answer took.
    let lastSentOk = 0;
    const { orchestrator, runsStore, executor, setCommands, logOf, deploy } =
      await setUp({}, store =>
        Object.assign(Object.create(store), {
          async heartbeat(instanceId: string, runIds: string[]) {
            if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
            const sentAt = performance.now();
            const answer = await store.heartbeat(instanceId, runIds);
            lastSentOk = sentAt;
            return answer;
          },
        }),
      );
    await setCommands(SHOP, [{ label: 'Hang', command: 'hang' }]);
    const run = await deploy();
    await waitFor(async () => executor.running === 1);
    down = true;
    await orchestrator.idle();
    // Three quarters of the 500 ms stale window since the last renewal,
    // checked every 50 ms.
    expect(performance.now() - lastSentOk).toBeGreaterThanOrEqual(375);
    const ended = await runsStore.getRun(run.id);
    expect(ended).toMatchObject({
      status: 'interrupted',
      steps: [{ status: 'interrupted' }],
    });
    expect(ended?.reason).toMatch(
      /^This backend instance could not reach the database for \d+\.\ds while "Hang" was running \(Error: connect ECONNREFUSED 127\.0\.0\.1:5432\), so it stopped the run before another instance would take it for dead; it was not retried/,
    );
    expect(await logOf(run.id)).toContain(
      'Release commands interrupted: This backend instance could not reach the database',
    );
    down = false;
    await orchestrator.stop();
  });

  it('starts nothing that a claim in flight took once stop() began, and ends it as not started', async () => {
    const claimed = deferred<void>();
    const release = deferred<void>();
    const { orchestrator, runsStore, executor, setCommands, deploy } =
      await setUp({}, store =>
        Object.assign(Object.create(store), {
          async claimQueuedRuns(
            ...args: Parameters<RunsStore['claimQueuedRuns']>
          ) {
            const runs = await store.claimQueuedRuns(...args);
            if (runs.length > 0) {
              claimed.resolve();
              await release.promise;
            }
            return runs;
          },
        }),
      );
    await setCommands(SHOP, [{ label: 'Migrate', command: 'print ok' }]);
    const run = await deploy();
    await claimed.promise;
    const stopped = orchestrator.stop();
    release.resolve();
    await stopped;
    expect(executor.started).toEqual([]);
    await expect(runsStore.getRun(run.id)).resolves.toMatchObject({
      status: 'interrupted',
      reason:
        'The backend shut down before this run started; no command ran. Run the release commands again.',
    });
  });

  it('refuses a run with 429 when the secrets it holds for queued runs would pass their bound', async () => {
    const { orchestrator, setCommands, deploy } = await setUp(
      { maxHeldSecretBytes: 100 },
      store =>
        Object.assign(Object.create(store), {
          // Nothing starts: every run stays queued, its secrets held.
          async claimQueuedRuns() {
            return [];
          },
        }),
    );
    await setCommands(SHOP, [{ label: 'Migrate', command: 'print ok' }]);
    await setCommands(BLOG, [{ label: 'Migrate', command: 'print ok' }]);
    await deploy(SHOP, { TOKEN: 'x'.repeat(55) });
    const refusal = await deploy(BLOG, { TOKEN: 'y'.repeat(55) }).catch(e => e);
    expect(refusal.statusCode).toBe(429);
    expect(refusal.message).toBe(
      "This backend instance holds 60 B of variables for 1 run not started yet; this run's 60 B would pass the limit of 100 B (releaseCommands.runs.maxHeldSecretBytes): try again once some have started",
    );
    expect(orchestrator.heldSecrets).toEqual({ runs: 1, bytes: 60 });
    await orchestrator.stop();
    expect(orchestrator.heldSecrets).toEqual({ runs: 0, bytes: 0 });
  });
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>(r => {
    resolve = r;
  });
  return { promise, resolve };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}
