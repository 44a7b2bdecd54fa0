import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ReleaseCommandRun,
  releaseCommandsRunCancelPermission,
  releaseCommandsRunCreatePermission,
  RunLogChunk,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  buildBusyboxImage,
  readServerSentEvents,
  requireDocker,
} from '@release-commands/test-utils';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import YAML from 'yaml';
import { startPlugin } from '../__testUtils__/startPlugin';
import { createRouter } from '../service/createRouter';

const spec = YAML.parse(
  fs.readFileSync(path.join(__dirname, 'openapi.yaml'), 'utf8'),
);
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
const validators = new WeakMap<object, ValidateFunction>();

/** Throws, naming `what`, unless the value matches the schema. */
function expectMatches(schema: object, value: unknown, what: string) {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile({ ...schema, components: spec.components });
    validators.set(schema, validate);
  }
  if (!validate(value)) {
    throw new Error(
      `${what} does not match the spec: ${ajv.errorsText(
        validate.errors,
      )}\n${JSON.stringify(value).slice(0, 2000)}`,
    );
  }
}

/** The documented response of an operation for a status, or a throw. */
function documentedResponse(method: string, specPath: string, status: number) {
  const operation = spec.paths[specPath]?.[method];
  expect(operation).toBeDefined();
  const documented = operation.responses[String(status)];
  if (!documented) {
    throw new Error(
      `${method.toUpperCase()} ${specPath} answered ${status}, which the spec does not list`,
    );
  }
  return documented.$ref
    ? spec.components.responses[documented.$ref.split('/').pop()]
    : documented;
}

/** The documented content of a response for its media type, or a throw. */
function documentedContent(
  what: string,
  response: any,
  contentType: string | null | undefined,
) {
  const mediaType = (contentType ?? '').split(';')[0].trim();
  const content = response.content?.[mediaType];
  if (!content) {
    throw new Error(
      `${what} came as ${
        mediaType || 'no content type'
      }, which the spec does not list (${Object.keys(
        response.content ?? {},
      ).join(', ')})`,
    );
  }
  return { mediaType, schema: content.schema };
}

/** The documented schema of one response, checked against a real one. */
function expectDocumented(
  method: string,
  specPath: string,
  res: request.Response,
) {
  const what = `${method.toUpperCase()} ${specPath} ${res.status}`;
  const response = documentedResponse(method, specPath, res.status);
  for (const [name, header] of Object.entries<any>(response.headers ?? {})) {
    const value = res.headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) {
        throw new Error(`${what} lacks the documented ${name} header`);
      }
    } else {
      expectMatches(header.schema, value, `${what} header ${name}`);
    }
  }
  const { mediaType, schema } = documentedContent(
    what,
    response,
    res.headers['content-type'],
  );
  expectMatches(
    schema,
    mediaType === 'application/json' ? res.body : res.text,
    what,
  );
}

/** Every route of a router, nested routers included, as `method /path`. */
function servedRoutes(stack: any[]): string[] {
  return stack.flatMap((layer: any) => {
    if (layer.route) {
      return Object.keys(layer.route.methods).map(
        method => `${method} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`,
      );
    }
    if (Array.isArray(layer.handle?.stack)) {
      if (!layer.regexp?.fast_slash) {
        throw new Error(
          `A router is mounted below ${layer.regexp}; teach this test its path`,
        );
      }
      return servedRoutes(layer.handle.stack);
    }
    return [];
  });
}

describe('openapi.yaml', () => {
  it('documents exactly the routes the router serves', async () => {
    const router: any = await createRouter({} as any);
    const served = servedRoutes(router.stack).sort();
    const documented = Object.entries(spec.paths)
      .flatMap(([p, item]: [string, any]) =>
        Object.keys(item)
          .filter(k => ['get', 'put', 'post', 'delete', 'patch'].includes(k))
          .map(method => `${method} ${p}`),
      )
      .sort();
    expect(served).toEqual(documented);
  });

  it('describes every response the API gives, success and refusal', async () => {
    const api = await startPlugin();
    const list = '/entities/{kind}/{namespace}/{name}/commands';
    const one = `${list}/{id}`;
    const shop = '/entities/component/default/shop/commands';

    expectDocumented('get', '/health', await api.get('/health'));
    expectDocumented('get', '/presets', await api.get('/presets'));
    expectDocumented('get', list, await api.get(shop));
    // Runs kept for the default 90 days, and kept forever.
    const runs = '/entities/{kind}/{namespace}/{name}/runs';
    const shopRuns = '/entities/component/default/shop/runs';
    expectDocumented('get', runs, await api.get(shopRuns));
    const keepAll = await startPlugin({
      config: {
        releaseCommands: {
          docker: { host: 'unix:///nonexistent/docker.sock' },
          runs: { retention: false },
        },
      },
    });
    const kept = await keepAll.get(shopRuns);
    expect(kept.body.retentionSeconds).toBeNull();
    expectDocumented('get', runs, kept);

    const put = await api.put(shop, {
      revision: 0,
      commands: [
        { label: 'Migrate', command: 'migrate', timeoutSeconds: 60 },
        { label: 'Check', command: 'check', enabled: false },
      ],
    });
    expect(put.status).toBe(200);
    expectDocumented('put', list, put);
    expectDocumented(
      'put',
      list,
      await api.put(shop, { revision: 0, commands: [] }),
    );
    expectDocumented('put', list, await api.put(shop, { revision: 1 }));
    expectDocumented(
      'put',
      list,
      await api.put(shop, {
        revision: 1,
        commands: [{ label: 'x', command: 'x'.repeat(300_000) }],
      }),
    );

    const appended = await api.post(shop, { label: 'Warm', command: 'warm' });
    expect(appended.status).toBe(201);
    expectDocumented('post', list, appended);
    expectDocumented(
      'post',
      list,
      await api.post(shop, { label: 'Warm', command: 'warm' }),
    );
    expectDocumented('post', list, await api.post(shop, { label: '' }));

    const deleted = await api.del(`${shop}/${appended.body.command.id}`);
    expect(deleted.status).toBe(200);
    expectDocumented('delete', one, deleted);
    expectDocumented(
      'delete',
      one,
      await api.del(`${shop}/${appended.body.command.id}`),
    );
    expectDocumented(
      'get',
      list,
      await api.get('/entities/k~nd/default/shop/commands'),
    );

    // The history, and a restore from it: fresh, stale, unknown.
    const history = `${list}/history`;
    const restore = `${list}/history/{revision}/restore`;
    const revisions = await api.get(`${shop}/history?limit=2`);
    expect(revisions.body.revisions).toHaveLength(2);
    expectDocumented('get', history, revisions);
    expectDocumented(
      'get',
      history,
      await api.get(`${shop}/history?cursor=${revisions.body.nextCursor}`),
    );
    expectDocumented('get', history, await api.get(`${shop}/history?limit=0`));
    const current = deleted.body.revision;
    const restored = await api.post(`${shop}/history/1/restore`, {
      revision: current,
    });
    expect(restored.status).toBe(200);
    expectDocumented('post', restore, restored);
    for (const [from, revision] of [
      [1, current],
      [99, current + 1],
      ['one', current + 1],
    ]) {
      expectDocumented(
        'post',
        restore,
        await api.post(`${shop}/history/${from}/restore`, { revision }),
      );
    }

    const none = mockCredentials.none.header();
    expectDocumented(
      'get',
      list,
      await api.get(shop).set('Authorization', none),
    );
    expectDocumented(
      'get',
      '/presets',
      await api.get('/presets').set('Authorization', none),
    );

    const denied = await startPlugin({ permission: AuthorizeResult.DENY });
    expectDocumented('get', list, await denied.get(shop));
    expectDocumented(
      'put',
      list,
      await denied.put(shop, { revision: 0, commands: [] }),
    );
    expectDocumented(
      'post',
      list,
      await denied.post(shop, { label: 'x', command: 'x' }),
    );
    expectDocumented('delete', one, await denied.del(`${shop}/x`));
    expectDocumented(
      'get',
      `${list}/history`,
      await denied.get(`${shop}/history`),
    );
  });

  it('describes every response of the runs API, with a real Docker engine', async () => {
    const docker = await requireDocker();
    const image = await buildBusyboxImage(docker);
    // ada may do anything; the reader may read runs but not start or cancel
    // them; the stranger may do nothing.
    const reader = mockCredentials.user.header('user:default/reader');
    const stranger = mockCredentials.user.header('user:default/stranger');
    const permissions = mockServices.permissions.mock({
      authorize: (async (requests: any[], options: any) => {
        const who = options?.credentials?.principal?.userEntityRef;
        return requests.map(({ permission }) => ({
          result:
            who === 'user:default/stranger' ||
            (who === 'user:default/reader' &&
              [
                releaseCommandsRunCreatePermission.name,
                releaseCommandsRunCancelPermission.name,
              ].includes(permission.name))
              ? AuthorizeResult.DENY
              : AuthorizeResult.ALLOW,
        }));
      }) as any,
    });
    const api = await startPlugin({
      config: {
        releaseCommands: {
          docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
        },
      },
      extra: [permissions.factory],
    });
    const entityRuns = '/entities/{kind}/{namespace}/{name}/runs';
    const oneRun = '/runs/{id}';
    const cancel = '/runs/{id}/cancel';
    const logs = '/runs/{id}/logs';
    const commands = '/entities/component/default/shop/commands';
    const shopRuns = '/entities/component/default/shop/runs';
    const unknown = '00000000-0000-4000-8000-000000000000';
    const runIds: string[] = [];

    /** Starts a run; a valid request body is checked against the spec too. */
    async function create(
      body: Record<string, unknown>,
      options: { as?: string; invalid?: boolean } = {},
    ) {
      const { as, invalid } = options;
      if (!invalid) {
        expectMatches(
          spec.components.schemas.CreateRunRequest,
          body,
          'the request',
        );
      }
      const res = as
        ? await api.post(shopRuns, body).set('Authorization', as)
        : await api.post(shopRuns, body);
      expectDocumented('post', entityRuns, res);
      if (res.status === 202) runIds.push(res.body.id);
      return res;
    }

    async function waitForEnd(id: string): Promise<ReleaseCommandRun> {
      const until = Date.now() + 60_000;
      for (;;) {
        const res = await api.get(`/runs/${id}`);
        expectDocumented('get', oneRun, res);
        if (!['queued', 'running'].includes(res.body.status)) return res.body;
        if (Date.now() > until) throw new Error(`run ${id} did not end`);
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    }

    /** Follows a run's log to its end, checking every event. */
    async function follow(id: string) {
      const { port } = api.server.address() as AddressInfo;
      const response = await fetch(
        `http://127.0.0.1:${port}/api/release-commands/runs/${id}/logs?follow=true`,
        {
          headers: {
            Authorization: mockCredentials.user.header('user:default/ada'),
          },
        },
      );
      const what = `GET ${logs}?follow=true ${response.status}`;
      documentedContent(
        what,
        documentedResponse('get', logs, response.status),
        response.headers.get('content-type'),
      );
      const chunks: RunLogChunk[] = [];
      let end: unknown;
      for await (const event of readServerSentEvents(response)) {
        expect(end).toBeUndefined();
        const data = JSON.parse(event.data);
        if (event.event === 'chunk') {
          expectMatches(
            spec.components.schemas.RunLogChunk,
            data,
            `${what} chunk event`,
          );
          if (event.id !== String(data.seq)) {
            throw new Error(
              `${what} chunk ${data.seq} came with id ${event.id}`,
            );
          }
          chunks.push(data);
        } else if (event.event === 'end') {
          expectMatches(
            spec.components.schemas.RunLogEnd,
            data,
            `${what} end event`,
          );
          end = data;
        } else {
          throw new Error(`${what} sent an undocumented event ${event.event}`);
        }
      }
      expect(end).toBeDefined();
      return { chunks, end };
    }

    try {
      await api
        .put(commands, {
          revision: 0,
          commands: [{ label: 'Greet', command: 'echo "hello $NAME"' }],
        })
        .expect(200);

      // A run to its end, its log whole and followed.
      const created = await create({
        image,
        env: { NAME: 'world-secret' },
        environment: 'production',
      });
      expect(created.status).toBe(202);
      expect(created.headers.location).toBe(
        `/api/release-commands/runs/${created.body.id}`,
      );
      const done = await waitForEnd(created.body.id);
      expect(done.status).toBe('succeeded');

      const text = await api.get(`/runs/${done.id}/logs`);
      expect(text.status).toBe(200);
      expectDocumented('get', logs, text);
      expect(text.headers['content-type']).toMatch(/^text\/plain/);
      expect(text.text).toContain('hello ***\n');
      const followed = await follow(done.id);
      expect(followed.end).toEqual({ status: 'succeeded', reason: null });
      expect(followed.chunks.map(c => c.text).join('')).toBe(text.text);
      const after = await api.get(`/runs/${done.id}/logs?after=1`);
      expectDocumented('get', logs, after);

      const late = await api.post(`/runs/${done.id}/cancel`);
      expect(late.status).toBe(409);
      expectDocumented('post', cancel, late);
      expect(late.body.error.message).toMatch(/already ended \(succeeded\)/);

      // A run held active: a second one in its environment is refused.
      await api
        .put(commands, {
          revision: 1,
          commands: [{ label: 'Hang', command: 'sleep 3600' }],
        })
        .expect(200);
      const active = await create({ image, environment: 'production' });
      expect(active.status).toBe(202);
      const second = await create({ image, environment: 'production' });
      expect(second.status).toBe(409);
      expect(second.body.error.message).toContain(active.body.id);
      // A dry run meanwhile: the plan, with that lock as its problem.
      const checked = await create({
        image,
        environment: 'production',
        dryRun: true,
      });
      expect(checked.status).toBe(200);
      expect(checked.body).toMatchObject({
        ok: false,
        steps: [
          { label: 'Hang', executable: 'sleep', found: expect.any(String) },
        ],
        problems: [second.body.error.message],
      });

      const page = await api.get(`${shopRuns}?limit=1`);
      expect(page.status).toBe(200);
      expectDocumented('get', entityRuns, page);
      expect(page.body.runs.map((r: ReleaseCommandRun) => r.id)).toEqual([
        active.body.id,
      ]);
      const older = await api.get(
        `${shopRuns}?limit=1&cursor=${page.body.nextCursor}`,
      );
      expectDocumented('get', entityRuns, older);
      expect(older.body.runs.map((r: ReleaseCommandRun) => r.id)).toEqual([
        done.id,
      ]);
      expect(older.body).not.toHaveProperty('nextCursor');

      // Refusals.
      const badImage = await create({ image: 'Shop:1' }, { invalid: true });
      expect(badImage.status).toBe(400);
      expect(badImage.body.error.message).toMatch(/^image /);
      const tooBig = await create(
        { image, env: { BIG: 'x'.repeat(300_000) } },
        { invalid: true },
      );
      expect(tooBig.status).toBe(413);
      for (const query of ['limit=0', 'limit=101', 'cursor=nope', 'page=2']) {
        const res = await api.get(`${shopRuns}?${query}`);
        expect(res.status).toBe(400);
        expectDocumented('get', entityRuns, res);
      }
      for (const [method, specPath, res] of [
        ['get', oneRun, await api.get('/runs/not-a-uuid')],
        ['post', cancel, await api.post('/runs/not-a-uuid/cancel')],
        ['get', logs, await api.get('/runs/not-a-uuid/logs')],
        ['get', logs, await api.get(`/runs/${done.id}/logs?follow=yes`)],
        ['get', logs, await api.get(`/runs/${done.id}/logs?after=-1`)],
      ] as const) {
        expect(res.status).toBe(400);
        expectDocumented(method, specPath, res);
      }
      for (const [method, specPath, res] of [
        ['get', oneRun, await api.get(`/runs/${unknown}`)],
        ['post', cancel, await api.post(`/runs/${unknown}/cancel`)],
        ['get', logs, await api.get(`/runs/${unknown}/logs`)],
      ] as const) {
        expect(res.status).toBe(404);
        expectDocumented(method, specPath, res);
      }
      const none = mockCredentials.none.header();
      const id = active.body.id;
      for (const [method, specPath, res] of [
        ['post', entityRuns, await create({ image }, { as: none })],
        ['get', entityRuns, await api.get(shopRuns).set('Authorization', none)],
        [
          'get',
          oneRun,
          await api.get(`/runs/${id}`).set('Authorization', none),
        ],
        [
          'post',
          cancel,
          await api.post(`/runs/${id}/cancel`).set('Authorization', none),
        ],
        [
          'get',
          logs,
          await api.get(`/runs/${id}/logs`).set('Authorization', none),
        ],
      ] as const) {
        expect(res.status).toBe(401);
        expectDocumented(method, specPath, res);
      }
      for (const [method, specPath, res] of [
        ['post', entityRuns, await create({ image }, { as: reader })],
        [
          'post',
          cancel,
          await api.post(`/runs/${id}/cancel`).set('Authorization', reader),
        ],
        [
          'get',
          entityRuns,
          await api.get(shopRuns).set('Authorization', stranger),
        ],
        [
          'get',
          oneRun,
          await api.get(`/runs/${id}`).set('Authorization', stranger),
        ],
        [
          'get',
          logs,
          await api.get(`/runs/${id}/logs`).set('Authorization', stranger),
        ],
      ] as const) {
        expect(res.status).toBe(403);
        expectDocumented(method, specPath, res);
      }
      expect(
        (await api.get(`/runs/${id}`).set('Authorization', reader)).status,
      ).toBe(200);

      // Cancelling the active run; its followed log ends with the verdict.
      const cancelled = await api.post(`/runs/${id}/cancel`);
      expect(cancelled.status).toBe(202);
      expectDocumented('post', cancel, cancelled);
      expect(cancelled.body.cancelRequestedBy).toBe('user:default/ada');
      expect((await waitForEnd(id)).status).toBe('cancelled');
      expect((await follow(id)).end).toMatchObject({
        status: 'cancelled',
      });
    } finally {
      for (const runId of runIds) {
        await api.post(`/runs/${runId}/cancel`);
      }
      await api.stop();
    }
  }, 120_000);
});
