import { mockCredentials } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { buildBusyboxImage, requireDocker } from '@release-commands/test-utils';
import Docker from 'dockerode';
import request from 'supertest';
import { startPlugin } from '../__testUtils__/startPlugin';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(120_000);

const ADA = 'user:default/ada';
/** May read everything, start nothing. */
const BOB = 'user:default/bob';
const SHOP = 'component:default/agent-shop';
const SHOP_PATH = '/entities/component/default/agent-shop';
const ACTIONS = '/api/release-commands/.backstage/actions/v1/actions';

describe('the actions registry', () => {
  let docker: Docker;
  let image: string;
  let api: Awaited<ReturnType<typeof startPlugin>>;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    api = await startPlugin({
      config: {
        app: { baseUrl: 'https://portal.example.com' },
        releaseCommands: { docker: { networkMode: 'none' } },
      },
      permission: (permission, user) =>
        user === BOB && permission === 'release-commands.runs.create'
          ? AuthorizeResult.DENY
          : AuthorizeResult.ALLOW,
    });
    const { body } = await api.get(`${SHOP_PATH}/commands`).expect(200);
    await api
      .put(`${SHOP_PATH}/commands`, {
        revision: body.revision,
        commands: [
          { label: 'Migrate', command: 'echo applying 0001; echo applied' },
          { label: 'Check', command: 'echo checked' },
        ],
      })
      .expect(200);
  });

  afterAll(async () => {
    await api?.stop();
  });

  const invoke = (name: string, input: object, as = ADA) =>
    request(api.server)
      .post(`${ACTIONS}/release-commands:${name}/invoke`)
      .set('Authorization', mockCredentials.user.header(as))
      .send(input);

  it('lists the read actions as read-only and the run action as destructive', async () => {
    const { body } = await request(api.server)
      .get(ACTIONS)
      .set('Authorization', mockCredentials.user.header(ADA))
      .expect(200);
    expect(
      Object.fromEntries(
        body.actions.map((a: { id: string; attributes: object }) => [
          a.id,
          a.attributes,
        ]),
      ),
    ).toEqual({
      'release-commands:get-commands': {
        readOnly: true,
        idempotent: true,
        destructive: false,
      },
      'release-commands:list-runs': {
        readOnly: true,
        idempotent: true,
        destructive: false,
      },
      'release-commands:get-run': {
        readOnly: true,
        idempotent: true,
        destructive: false,
      },
      'release-commands:run': {
        readOnly: false,
        idempotent: false,
        destructive: true,
      },
    });
    const run = body.actions.find((a: { name: string }) => a.name === 'run');
    expect(run.schema.input.required).toEqual(['entityRef', 'image']);
  });

  it('reads the commands as the HTTP API answers them', async () => {
    const { body: http } = await api.get(`${SHOP_PATH}/commands`).expect(200);
    const { body } = await invoke('get-commands', {
      entityRef: SHOP,
    }).expect(200);
    expect(body.output).toEqual(http);
    expect(body.output.commands.map((c: { label: string }) => c.label)).toEqual(
      ['Migrate', 'Check'],
    );
  });

  it('refuses a run to a caller without runs.create, and starts nothing', async () => {
    const res = await invoke('run', { entityRef: SHOP, image }, BOB).expect(
      403,
    );
    expect(res.body.error).toMatchObject({
      name: 'NotAllowedError',
      message: `Not allowed: release-commands.runs.create on ${SHOP}`,
    });
    const { body: page } = await api.get(`${SHOP_PATH}/runs`).expect(200);
    expect(page.runs).toEqual([]);
    expect(
      await docker.listContainers({
        all: true,
        filters: { label: [`org.release-commands.entity=${SHOP}`] },
      }),
    ).toEqual([]);
    // A service's credentials would reach the API as another plugin's.
    const service = await request(api.server)
      .post(`${ACTIONS}/release-commands:run/invoke`)
      .set('Authorization', mockCredentials.service.header())
      .send({ entityRef: SHOP, image })
      .expect(403);
    expect(service.body.error.message).toMatch(
      /^The run action starts runs only for a signed-in user/,
    );
    // Bad input is the registry's 400, before the plugin is asked.
    const bad = await invoke('run', { entityRef: SHOP });
    expect([bad.status, bad.body.error.name]).toEqual([400, 'InputError']);
  });

  it("starts a real run with the caller's rights, and reads it back as the HTTP API does", async () => {
    const started = await invoke('run', {
      entityRef: SHOP,
      image,
    }).expect(200);
    const { run } = started.body.output;
    expect(run).toMatchObject({
      entityRef: SHOP,
      image,
      trigger: 'manual',
      triggeredBy: ADA,
    });
    expect(started.body.output.url).toBe(
      `https://portal.example.com/catalog/default/component/agent-shop/release-commands?run=${run.id}`,
    );

    const until = Date.now() + 60_000;
    let read;
    for (;;) {
      read = (
        await invoke('get-run', {
          runId: run.id,
          logTailLines: 3,
        }).expect(200)
      ).body.output;
      if (!['queued', 'running'].includes(read.run.status)) break;
      if (Date.now() > until) throw new Error(`run ${run.id} did not end`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    const { body: http } = await api.get(`/runs/${run.id}`).expect(200);
    expect(read.run).toEqual(http);
    expect(http.status).toBe('succeeded');
    const { text: log } = await api.get(`/runs/${run.id}/logs`).expect(200);
    expect(read.logTail).toBe(log.trimEnd().split('\n').slice(-3).join('\n'));
    expect(read.logTail).toContain('[2/2] Check passed');

    const { body: page } = await api.get(`${SHOP_PATH}/runs`).expect(200);
    const { body: listed } = await invoke('list-runs', {
      entityRef: SHOP,
    }).expect(200);
    expect(listed.output).toEqual(page);
  });
});
