import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ReleaseCommandRun,
  RUN_LOG_HEADING,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  buildBusyboxImage,
  createTestDatabases,
  readServerSentEvents,
  requireDocker,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { startPlugin } from '../__testUtils__/startPlugin';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(60_000);

const { databases, ids } = createTestDatabases();
const SHOP = '/entities/component/default/shop';

/** Quick heartbeats so recovery-related behaviour shows within a test. */
function runConfig(docker: Record<string, unknown> = {}) {
  return {
    releaseCommands: {
      docker: {
        networkMode: 'none',
        stopGracePeriodSeconds: 1,
        ...docker,
      },
      runs: {
        maxConcurrent: 4,
        heartbeatIntervalSeconds: 0.2,
        staleAfterSeconds: 2,
        recoveryIntervalSeconds: 0.5,
      },
    },
  };
}

type Api = Awaited<ReturnType<typeof startPlugin>>;

describe.each(ids)('runs API on %p with a real Docker engine', databaseId => {
  let docker: Docker;
  let image: string;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
  });

  async function start(
    docker_: Record<string, unknown> = {},
    runs: Record<string, unknown> = {},
  ) {
    const knex = await databases.init(databaseId);
    const config = runConfig(docker_);
    Object.assign(config.releaseCommands.runs, runs);
    return startPlugin({ knex, config });
  }

  async function setCommands(
    api: Api,
    commands: Array<{
      label: string;
      command: string;
      timeoutSeconds?: number;
    }>,
    path = SHOP,
  ) {
    const { body } = await api.get(`${path}/commands`).expect(200);
    await api
      .put(`${path}/commands`, { revision: body.revision, commands })
      .expect(200);
  }

  async function waitForEnd(api: Api, id: string): Promise<ReleaseCommandRun> {
    const until = Date.now() + 60_000;
    for (;;) {
      const { body } = await api.get(`/runs/${id}`).expect(200);
      if (!['queued', 'running'].includes(body.status)) return body;
      if (Date.now() > until) throw new Error(`run ${id} did not end`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  async function logOf(api: Api, id: string): Promise<string> {
    const res = await api.get(`/runs/${id}/logs`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return res.text;
  }

  async function containersOf(runId: string) {
    return docker.listContainers({
      all: true,
      filters: { label: [`org.release-commands.run=${runId}`] },
    });
  }

  it('runs the commands in fresh containers and fails at the first failing one, as in a deployment log', async () => {
    const api = await start();
    await setCommands(api, [
      {
        label: 'Migrate database',
        command: 'echo first && echo "Applying 0001_initial... OK"',
      },
      {
        label: 'Security checks',
        command: 'echo "HTTPS is not enforced" >&2; exit 1',
      },
      { label: 'Fix tree', command: 'echo never' },
    ]);
    const created = await api
      .post(`${SHOP}/runs`, { image, environment: 'production' })
      .expect(202);
    const { body: list } = await api.get(`${SHOP}/commands`).expect(200);
    expect(created.body).toMatchObject({
      entityRef: 'component:default/shop',
      image,
      environment: 'production',
      // The revision of the list its steps were taken from.
      commandsRevision: list.revision,
      trigger: 'manual',
      triggeredBy: 'user:default/ada',
      steps: [
        { position: 0, label: 'Migrate database', status: 'pending' },
        { position: 1, label: 'Security checks', timeoutSeconds: 1800 },
        { position: 2, label: 'Fix tree' },
      ],
    });
    expect(['queued', 'running']).toContain(created.body.status);

    const run = await waitForEnd(api, created.body.id);
    expect(run).toMatchObject({
      status: 'failed',
      reason: '"Security checks" exited with code 1.',
      steps: [
        { status: 'succeeded', exitCode: 0, oomKilled: false },
        { status: 'failed', exitCode: 1, oomKilled: false },
        { status: 'skipped', exitCode: null, startedAt: null },
      ],
    });
    const log = await logOf(api, run.id);
    const lines = log.trimEnd().split('\n');
    expect(lines[0]).toBe(RUN_LOG_HEADING);
    expect(log).toContain(
      '[1/3] Migrate database: echo first && echo "Applying 0001_initial... OK"\nfirst\nApplying 0001_initial... OK\n[1/3] Migrate database passed (exit 0, ',
    );
    expect(log).toContain(
      'HTTPS is not enforced\n[2/3] Security checks failed (exit 1, ',
    );
    expect(log).toContain('[3/3] Fix tree skipped\n');
    expect(log).not.toContain('never\n');
    expect(lines[lines.length - 1]).toBe(
      'Release commands failed: "Security checks" exited with code 1. The deployment must not proceed.',
    );
    expect(await containersOf(run.id)).toEqual([]);
    await api.stop();
  });

  it('with preflight on, fails a run before step 1 naming the executable the image lacks, and runs one whose executables are all there', async () => {
    const api = await start({}, { preflight: true });
    await setCommands(api, [
      { label: 'Migrate database', command: 'echo migrated > /tmp/proof' },
      { label: 'Dependencies', command: 'python3 -m pip check' },
    ]);
    const { body } = await api.post(`${SHOP}/runs`, { image }).expect(202);
    const run = await waitForEnd(api, body.id);
    expect(run).toMatchObject({
      status: 'failed',
      reason: `Pre-flight: Step 2 of 2, "Dependencies": python3 is not in the image ${image} (command -v found nothing there, as the step would run). No command ran.`,
      steps: [
        { status: 'skipped', startedAt: null },
        { status: 'skipped', startedAt: null },
      ],
    });
    const log = await logOf(api, run.id);
    expect(log).toContain(
      'Pre-flight: looking up 2 executables in the image\n',
    );
    expect(log).not.toContain('[1/2] Migrate database:');
    expect(await containersOf(run.id)).toEqual([]);

    await setCommands(api, [
      { label: 'Migrate database', command: 'echo migrated' },
    ]);
    const { body: next } = await api
      .post(`${SHOP}/runs`, { image })
      .expect(202);
    const passed = await waitForEnd(api, next.id);
    expect(passed.status).toBe('succeeded');
    expect(await logOf(api, passed.id)).toContain(
      'Pre-flight: every executable is in the image\n[1/1] Migrate database: echo migrated\nmigrated\n',
    );
    await api.stop();
  });

  it('streams the log live as server-sent events, resumes from a sequence number, and ends with the run', async () => {
    const api = await start();
    await setCommands(api, [
      {
        label: 'Count',
        command: 'for i in 1 2 3 4 5; do echo "tick $i"; sleep 0.3; done',
      },
    ]);
    const { body: run } = await api.post(`${SHOP}/runs`, { image }).expect(202);
    const { port } = api.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/api/release-commands/runs/${run.id}/logs?follow=true`;
    const headers = {
      Authorization: mockCredentials.user.header('user:default/ada'),
    };

    const seen: Array<{ id: number; seq: number; text: string; at: number }> =
      [];
    let end: any;
    const response = await fetch(url, { headers });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    for await (const event of readServerSentEvents(response)) {
      if (event.event === 'chunk') {
        const chunk = JSON.parse(event.data);
        seen.push({
          id: Number(event.id),
          seq: chunk.seq,
          text: chunk.text,
          at: Date.now(),
        });
      } else if (event.event === 'end') {
        end = JSON.parse(event.data);
      }
    }
    expect(end).toEqual({ status: 'succeeded', reason: null });
    // Each event's id is its chunk's seq, so a client can resume from it.
    expect(seen.filter(s => s.id !== s.seq)).toEqual([]);
    const text = seen.map(s => s.text).join('');
    expect(text).toBe(await logOf(api, run.id));
    expect(text).toMatch(/tick 1\n[\s\S]*tick 5\n/);
    // Live: the ticks arrived spread over the run, not all at its end.
    const tick1 = seen.find(s => s.text.includes('tick 1'))!;
    const tick5 = seen.find(s => s.text.includes('tick 5'))!;
    expect(tick5.at - tick1.at).toBeGreaterThan(600);
    expect(seen.map(s => s.seq)).toEqual(
      [...seen.map(s => s.seq)].sort((a, b) => a - b),
    );

    // Resuming after a sequence number repeats nothing and loses nothing,
    // with ?after= and with the Last-Event-ID header alike.
    const middle = seen[Math.floor(seen.length / 2)].seq;
    for (const resume of [
      fetch(`${url}&after=${middle}`, { headers }),
      fetch(url, { headers: { ...headers, 'Last-Event-ID': String(middle) } }),
    ]) {
      const rest: string[] = [];
      for await (const event of readServerSentEvents(await resume)) {
        if (event.event === 'chunk') rest.push(JSON.parse(event.data).text);
      }
      expect(rest.join('')).toBe(
        seen
          .filter(s => s.seq > middle)
          .map(s => s.text)
          .join(''),
      );
    }
    await api.stop();
  });

  it('times out a command, stops its container within the grace period, and fails the run', async () => {
    const api = await start();
    await setCommands(api, [
      { label: 'Hang', command: 'echo started; sleep 3600', timeoutSeconds: 2 },
      { label: 'After', command: 'echo never' },
    ]);
    const { body } = await api.post(`${SHOP}/runs`, { image }).expect(202);
    const run = await waitForEnd(api, body.id);
    expect(run).toMatchObject({
      status: 'timed_out',
      reason: '"Hang" timed out after 2.0s and was stopped.',
      steps: [{ status: 'timed_out' }, { status: 'skipped' }],
    });
    const took =
      Date.parse(run.steps[0].finishedAt!) -
      Date.parse(run.steps[0].startedAt!);
    // Timeout (2 s) + grace (1 s) + 5 s at most.
    expect(took).toBeLessThan(8000);
    expect(await containersOf(run.id)).toEqual([]);
    const log = await logOf(api, run.id);
    expect(log).toContain(
      'started\n[1/2] Hang timed out after 2.0s and was stopped (exit ',
    );
    expect(log).toContain('[2/2] After skipped');
    await api.stop();
  });

  it('cancels a run during a step: the container stops and the run says who cancelled it', async () => {
    const api = await start();
    await setCommands(api, [
      { label: 'Hang', command: 'echo started; sleep 3600' },
    ]);
    const { body } = await api.post(`${SHOP}/runs`, { image }).expect(202);
    const until = Date.now() + 30_000;
    while (!(await logOf(api, body.id)).includes('started\n')) {
      if (Date.now() > until) throw new Error('the command never started');
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    const cancel = await api.post(`/runs/${body.id}/cancel`).expect(202);
    expect(cancel.body.cancelRequestedBy).toBe('user:default/ada');
    const run = await waitForEnd(api, body.id);
    expect(run).toMatchObject({
      status: 'cancelled',
      reason: 'Cancelled by user:default/ada while "Hang" was running.',
      steps: [{ status: 'cancelled' }],
    });
    expect(await containersOf(run.id)).toEqual([]);
    expect(await logOf(api, run.id)).toContain(
      'Release commands cancelled: Cancelled by user:default/ada while "Hang" was running. The deployment must not proceed.',
    );
    const again = await api.post(`/runs/${body.id}/cancel`).expect(409);
    expect(again.body.error.message).toMatch(/already ended \(cancelled\)/);
    await api.stop();
  });

  it('records what started a run from the credentials, and refuses a client that says', async () => {
    const api = await start();
    await setCommands(api, [{ label: 'Echo', command: 'echo hi' }]);
    const deployAs = async (authorization: string) => {
      const res = await request(api.server)
        .post(`/api/release-commands${SHOP}/runs`)
        .set('Authorization', authorization)
        .send({ image })
        .expect(202);
      return waitForEnd(api, res.body.id);
    };

    const byPipeline = await deployAs(mockCredentials.service.header());
    const byTemplate = await deployAs(
      `Bearer ${mockCredentials.user.token('user:default/ada', {
        actor: { subject: 'plugin:scaffolder' },
      })}`,
    );
    const byHand = await deployAs(
      mockCredentials.user.header('user:default/ada'),
    );
    expect(
      [byPipeline, byTemplate, byHand].map(run => [
        run.status,
        run.trigger,
        run.triggeredBy,
      ]),
    ).toEqual([
      ['succeeded', 'pipeline', 'external:test-service'],
      ['succeeded', 'template', 'user:default/ada'],
      ['succeeded', 'manual', 'user:default/ada'],
    ]);

    const claimed = await api
      .post(`${SHOP}/runs`, { image, trigger: 'pipeline' })
      .expect(400);
    expect(claimed.body.error.message).toMatch(/unknown field "trigger"/);
    const { body: page } = await api.get(`${SHOP}/runs`).expect(200);
    expect(page.runs).toHaveLength(3);
    await api.stop();
  });

  it("cancels another's run only with release-commands.runs.cancel, one's own with runs.create", async () => {
    const knex = await databases.init(databaseId);
    const api = await startPlugin({
      knex,
      config: runConfig(),
      extra: [
        mockServices.permissions.mock({
          authorize: async requests =>
            requests.map(({ permission }) => ({
              result:
                permission.name === 'release-commands.runs.cancel'
                  ? AuthorizeResult.DENY
                  : AuthorizeResult.ALLOW,
            })),
        }).factory,
      ],
    });
    await setCommands(api, [
      { label: 'Wait', command: 'echo started; sleep 60; echo done' },
    ]);
    const { body } = await api.post(`${SHOP}/runs`, { image }).expect(202);
    const refused = await request(api.server)
      .post(`/api/release-commands/runs/${body.id}/cancel`)
      .set('Authorization', mockCredentials.user.header('user:default/bob'))
      .expect(403);
    expect(refused.body.error.message).toBe(
      'Not allowed: release-commands.runs.cancel on component:default/shop',
    );
    const { body: still } = await api.get(`/runs/${body.id}`).expect(200);
    expect(['queued', 'running']).toContain(still.status);
    expect(still.cancelRequestedBy).toBeNull();

    // ada started it: runs.create is enough to stop it.
    const own = await api.post(`/runs/${body.id}/cancel`).expect(202);
    expect(own.body.cancelRequestedBy).toBe('user:default/ada');
    const run = await waitForEnd(api, body.id);
    expect([run.status, run.reason]).toEqual([
      'cancelled',
      'Cancelled by user:default/ada while "Wait" was running.',
    ]);
    await api.stop();
  });

  it("shows a reader without commands.read each step's place and label, never its command", async () => {
    const knex = await databases.init(databaseId);
    const api = await startPlugin({
      knex,
      config: runConfig(),
      extra: [
        mockServices.permissions.mock({
          authorize: async (requests, options) =>
            requests.map(({ permission }) => ({
              result:
                permission.name === 'release-commands.commands.read' &&
                (options?.credentials.principal as any).userEntityRef ===
                  'user:default/reader'
                  ? AuthorizeResult.DENY
                  : AuthorizeResult.ALLOW,
            })),
        }).factory,
      ],
    });
    // The second command's text holds a secret, which the log masks in its
    // heading.
    await setCommands(api, [
      {
        label: 'Two outputs',
        command: 'echo first-output; echo second-output',
      },
      { label: 'Secretive', command: 'echo "token is $TOKEN" # tok-4a7f9e' },
    ]);
    const { body: created } = await api
      .post(`${SHOP}/runs`, { image, env: { TOKEN: 'tok-4a7f9e' } })
      .expect(202);
    const ended = await waitForEnd(api, created.id);
    expect(ended.status).toBe('succeeded');
    const reader = mockCredentials.user.header('user:default/reader');
    const asReader = (path: string) =>
      request(api.server)
        .get(`/api/release-commands${path}`)
        .set('Authorization', reader)
        .expect(200);

    const hidden = [
      { label: 'Two outputs', command: '', commandHidden: true },
      { label: 'Secretive', command: '', commandHidden: true },
    ];
    const { body: run } = await asReader(`/runs/${ended.id}`);
    expect(run.steps).toMatchObject(hidden);
    const { body: page } = await asReader(`${SHOP}/runs`);
    expect(page.runs[0].steps).toMatchObject(hidden);
    await request(api.server)
      .get(`/api/release-commands${SHOP}/commands`)
      .set('Authorization', reader)
      .expect(403);

    const { text: log } = await asReader(`/runs/${ended.id}/logs`);
    const { port } = api.server.address() as AddressInfo;
    const followed: string[] = [];
    const stream = await fetch(
      `http://127.0.0.1:${port}/api/release-commands/runs/${ended.id}/logs?follow=true`,
      { headers: { Authorization: reader } },
    );
    for await (const event of readServerSentEvents(stream)) {
      if (event.event === 'chunk') followed.push(JSON.parse(event.data).text);
    }
    for (const text of [log, followed.join('')]) {
      expect(text).toContain(
        '[1/2] Two outputs: (command hidden)\nfirst-output\nsecond-output\n[1/2] Two outputs passed',
      );
      expect(text).toContain(
        '[2/2] Secretive: (command hidden)\ntoken is ***\n[2/2] Secretive passed',
      );
      expect(text).not.toMatch(/echo/);
    }
    // Whoever may read the commands sees them.
    const ownLog = await logOf(api, ended.id);
    expect(ownLog).toContain(
      '[1/2] Two outputs: echo first-output; echo second-output\nfirst-output\n',
    );
    expect(ownLog).toContain('[2/2] Secretive: echo "token is $TOKEN" # ***\n');
    const { body: full } = await api.get(`/runs/${ended.id}`).expect(200);
    expect(full.steps[0]).not.toHaveProperty('commandHidden');
    expect(full.steps[0].command).toBe('echo first-output; echo second-output');
    await api.stop();
  });

  it('refuses a second deploy of the same entity while one runs, naming the active run', async () => {
    const api = await start();
    await setCommands(api, [{ label: 'Hang', command: 'sleep 3600' }]);
    const { body: first } = await api
      .post(`${SHOP}/runs`, { image })
      .expect(202);
    const second = await api.post(`${SHOP}/runs`, { image }).expect(409);
    expect(second.body.error.name).toBe('ConflictError');
    expect(second.body.error.message).toContain(first.id);
    // Another environment may deploy at the same time.
    const staging = await api
      .post(`${SHOP}/runs`, { image, environment: 'staging' })
      .expect(202);
    await api.post(`/runs/${first.id}/cancel`).expect(202);
    await api.post(`/runs/${staging.body.id}/cancel`).expect(202);
    await waitForEnd(api, first.id);
    await waitForEnd(api, staging.body.id);
    const { body: page } = await api.get(`${SHOP}/runs?limit=1`).expect(200);
    expect(page.runs.map((r: ReleaseCommandRun) => r.id)).toEqual([
      staging.body.id,
    ]);
    const { body: next } = await api
      .get(`${SHOP}/runs?limit=1&cursor=${page.nextCursor}`)
      .expect(200);
    expect(next.runs.map((r: ReleaseCommandRun) => r.id)).toEqual([first.id]);
    expect(next.nextCursor).toBeUndefined();
    await api.stop();
  });

  it('refuses a run past the limits on queued runs with 429 naming the limit, and writes nothing', async () => {
    const api = await start(
      {},
      { maxConcurrent: 1, maxQueuedPerEntity: 2, maxQueuedPerActor: 3 },
    );
    const BLOG = '/entities/component/default/blog';
    await setCommands(api, [{ label: 'Hang', command: 'sleep 3600' }]);
    await setCommands(api, [{ label: 'Hang', command: 'sleep 3600' }], BLOG);
    const accepted: string[] = [];
    const deploy = async (
      path: string,
      environment: string,
      status: number,
    ) => {
      const res = await api
        .post(`${path}/runs`, { image, environment })
        .expect(status);
      if (status === 202) accepted.push(res.body.id);
      return res.body;
    };
    await deploy(SHOP, 'a', 202);
    // Claimed: it no longer counts as queued.
    for (;;) {
      const { body } = await api.get(`/runs/${accepted[0]}`).expect(200);
      if (body.status === 'running') break;
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    await deploy(SHOP, 'b', 202);
    await deploy(SHOP, 'c', 202);
    const entity = await deploy(SHOP, 'd', 429);
    expect(entity.error.name).toBe('TooManyRunsError');
    expect(entity.error.message).toBe(
      'component:default/shop already has 2 runs queued, the most allowed (releaseCommands.runs.maxQueuedPerEntity); try again once some have started',
    );
    await deploy(BLOG, 'a', 202);
    const actor = await deploy(BLOG, 'b', 429);
    expect(actor.error.message).toMatch(
      /^user:default\/ada already has 3 runs queued, the most allowed \(releaseCommands\.runs\.maxQueuedPerActor\)/,
    );
    const { body: shopRuns } = await api.get(`${SHOP}/runs`).expect(200);
    const { body: blogRuns } = await api.get(`${BLOG}/runs`).expect(200);
    expect(shopRuns.runs).toHaveLength(3);
    expect(blogRuns.runs).toHaveLength(1);
    for (const id of accepted) {
      await api.post(`/runs/${id}/cancel`).expect(202);
    }
    for (const id of accepted) await waitForEnd(api, id);
    await api.stop();
  });

  it('says so when a command runs out of memory', async () => {
    const api = await start({ memory: '16m' });
    await setCommands(api, [
      {
        label: 'Allocate',
        // After a moment, as any real program does: one killed in its first
        // milliseconds, before the engine watches the container's memory
        // (containerd arms that watch just after the process started), is
        // never known to the engine as out of memory (see the README).
        command: 'sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1',
      },
    ]);
    const { body } = await api.post(`${SHOP}/runs`, { image }).expect(202);
    const run = await waitForEnd(api, body.id);
    expect(run.status).toBe('failed');
    expect(run.steps[0]).toMatchObject({ exitCode: 137, oomKilled: true });
    expect(run.reason).toMatch(
      /^"Allocate" ran out of memory and was killed \(exit code 137\)/,
    );
    expect(await containersOf(run.id)).toEqual([]);
    await api.stop();
  });

  it('fails with the engine message when the image is not there, and when the executable is not', async () => {
    const api = await start();
    await setCommands(api, [{ label: 'Run', command: '["/nope", "--flag"]' }]);
    const { body: noImage } = await api
      .post(`${SHOP}/runs`, { image: 'release-commands-test/absent:1' })
      .expect(202);
    const imageRun = await waitForEnd(api, noImage.id);
    expect(imageRun.status).toBe('failed');
    expect(imageRun.reason).toMatch(/release-commands-test\/absent:1/);
    expect(imageRun.steps[0].status).toBe('skipped');
    expect(await logOf(api, imageRun.id)).toContain(
      `Release commands failed: ${imageRun.reason}`,
    );

    const { body: noExe } = await api
      .post(`${SHOP}/runs`, { image })
      .expect(202);
    const exeRun = await waitForEnd(api, noExe.id);
    expect(exeRun).toMatchObject({
      status: 'failed',
      steps: [{ status: 'failed' }],
    });
    expect(exeRun.reason).toMatch(/^"Run" could not start: .*\/nope/);
    expect(await containersOf(exeRun.id)).toEqual([]);
    await api.stop();
  });

  it('passes env to the container and masks a secret printed across two output chunks', async () => {
    const api = await start();
    await setCommands(api, [
      {
        label: 'Print',
        command:
          'echo "RELEASE_COMMAND=$RELEASE_COMMAND"; printf "token=hunt"; sleep 0.5; printf "er2-secret\\n"',
      },
    ]);
    const { body } = await api
      .post(`${SHOP}/runs`, { image, env: { API_TOKEN: 'hunter2-secret' } })
      .expect(202);
    expect(body.envKeys).toEqual(['API_TOKEN']);
    const run = await waitForEnd(api, body.id);
    expect(run.status).toBe('succeeded');
    const log = await logOf(api, run.id);
    expect(log).toContain('RELEASE_COMMAND=1\n');
    expect(log).toContain('token=***\n');
    // The two halves arrived half a second apart, in separate chunks; neither
    // shows in the output (the command line itself holds only the halves).
    expect(log).not.toContain('hunter2-secret');
    expect(log).not.toMatch(/^token=hunt/m);
    expect(log).not.toMatch(/^er2-secret/m);
    await api.stop();
  });

  it('caps a long log: keeps the head and the tail of the output and says what was cut', async () => {
    const api = await start({}, { logCapBytes: 8192 });
    await setCommands(api, [
      {
        label: 'Chatty',
        command:
          'i=0; while [ $i -lt 5000 ]; do echo "line $i of the output"; i=$((i+1)); done',
      },
    ]);
    const { body } = await api.post(`${SHOP}/runs`, { image }).expect(202);
    const run = await waitForEnd(api, body.id);
    expect(run.status).toBe('succeeded');
    const log = await logOf(api, run.id);
    expect(log).toContain('\nline 0 of the output\n');
    expect(log).toContain('\nline 4999 of the output\n');
    expect(log).not.toContain('\nline 2500 of the output\n');
    expect(log).toMatch(
      /\[[\d.]+ KiB of command output cut here: the log keeps the first 4\.0 KiB and the last 4\.0 KiB of output/,
    );
    expect(log).toMatch(
      /This log was capped at 8\.0 KiB: [\d.]+ KiB of command output were cut\.\nRelease commands passed/,
    );
    const output = log
      .split('\n')
      .filter(line => line.startsWith('line '))
      .join('\n');
    // Whole chunks are cut, so the kept output is near the cap, not over it by much.
    expect(output.length).toBeLessThanOrEqual(8192 + 1024);
    expect(output.length).toBeGreaterThan(4096);
    await api.stop();
  });

  it('refuses bad input with a 400 naming the field, and writes nothing', async () => {
    const api = await start();
    await setCommands(api, [{ label: 'Echo', command: 'echo hi' }]);
    const cases: Array<[unknown, RegExp]> = [
      [{}, /image/],
      [{ image: 'Shop:1' }, /^image must be an image reference/],
      [{ image, env: { '1A': 'x' } }, /env\.1A/],
      [
        { image, environment: 'Prod Env' },
        /^environment must be a short lower-case name/,
      ],
      [{ image, privileged: true }, /unknown field "privileged"/],
      [
        { image, env: { RELEASE_COMMAND: '0' } },
        /^env\.RELEASE_COMMAND is set by release commands itself/,
      ],
      [
        { image, env: { ['A'.repeat(129)]: 'x' } },
        /^env\.A+ is too long a name: at most 128 characters/,
      ],
    ];
    for (const [body, message] of cases) {
      const res = await api.post(`${SHOP}/runs`, body).expect(400);
      expect(res.body.error.name).toBe('InputError');
      expect(res.body.error.message).toMatch(message);
    }
    await api.get('/runs/not-a-uuid').expect(400);
    await api.get('/runs/00000000-0000-4000-8000-000000000000').expect(404);
    const { body: page } = await api.get(`${SHOP}/runs`).expect(200);
    expect(page.runs).toEqual([]);
    await api.stop();
  });
});
