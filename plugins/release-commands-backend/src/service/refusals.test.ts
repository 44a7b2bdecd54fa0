import { mockCredentials } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION } from '@release-commands/backstage-plugin-release-commands-common';
import {
  buildBusyboxImage,
  createTestDatabases,
  requireDocker,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { Knex } from 'knex';
import request from 'supertest';
import { anyEntity, startPlugin } from '../__testUtils__/startPlugin';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(120_000);

const { databases, ids } = createTestDatabases();

/**
 * Who asks. ada may do everything; bob everything but cancel another's run;
 * mallory nothing.
 */
const ADA = 'user:default/ada';
const BOB = 'user:default/bob';
const MALLORY = 'user:default/mallory';

/** Entities named `ghost-*` are not in the catalog. */
function catalogEntity(ref: string): Entity | undefined {
  const entity = anyEntity(ref);
  if (entity.metadata.name.startsWith('ghost-')) return undefined;
  if (entity.metadata.name.startsWith('narrowed-')) {
    entity.metadata.annotations = {
      [RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION]:
        'release-commands-test/only-this',
    };
  }
  return entity;
}

type Refusal = {
  /** What is refused, as the test names it. */
  what: string;
  /** The entity's name: the test adds the database's. */
  entity: string;
  method: 'get' | 'put' | 'post' | 'delete';
  /** Under the entity's path (`/commands`, `/runs`), or `/runs/<run>/cancel`. */
  path: string;
  body?: (image: string) => object;
  as: string;
  status: number;
  error: string;
  /** `<entity>` stands for the entity's ref, `<image>` for the test image. */
  message: string;
};

const refusals: Refusal[] = [
  {
    what: 'an image no config rule allows',
    entity: 'shop',
    method: 'post',
    path: '/runs',
    body: () => ({ image: 'busybox:1.36' }),
    as: ADA,
    status: 403,
    error: 'NotAllowedError',
    message:
      'Image docker.io/library/busybox:1.36 is not allowed in environment default: releaseCommands.images.allow allows only repositories under docker.io/release-commands-test/',
  },
  {
    what: 'an allowed repository of another registry',
    entity: 'shop',
    method: 'post',
    path: '/runs',
    body: () => ({ image: 'evil.example.com/release-commands-test/x:1' }),
    as: ADA,
    status: 403,
    error: 'NotAllowedError',
    message:
      'Image evil.example.com/release-commands-test/x:1 is not allowed in environment default: releaseCommands.images.allow allows only repositories under docker.io/release-commands-test/',
  },
  {
    what: "an image the environment's own rules do not allow",
    entity: 'shop',
    method: 'post',
    path: '/runs',
    body: image => ({ image, environment: 'production' }),
    as: ADA,
    status: 403,
    error: 'NotAllowedError',
    message:
      'Image docker.io/<image> is not allowed in environment production: releaseCommands.images.environments.production.allow allows only image docker.io/release-commands-test/shop:2',
  },
  {
    what: "an image the entity's annotation does not allow",
    entity: 'narrowed',
    method: 'post',
    path: '/runs',
    body: image => ({ image }),
    as: ADA,
    status: 403,
    error: 'NotAllowedError',
    message:
      'Image docker.io/<image> is not allowed for <entity>: its release-commands/allowed-images annotation allows only repository docker.io/release-commands-test/only-this',
  },
  {
    what: 'writing commands of an entity the catalog does not know',
    entity: 'ghost',
    method: 'put',
    path: '/commands',
    body: () => ({
      revision: 0,
      commands: [{ label: 'Seed', command: 'echo seeded' }],
    }),
    as: ADA,
    status: 404,
    error: 'NotFoundError',
    message:
      '<entity> is not in the catalog (or not visible to you): release commands are kept and run only for entities the catalog knows',
  },
  {
    what: 'adding a command to an entity the catalog does not know',
    entity: 'ghost',
    method: 'post',
    path: '/commands',
    body: () => ({ label: 'Seed', command: 'echo seeded' }),
    as: ADA,
    status: 404,
    error: 'NotFoundError',
    message:
      '<entity> is not in the catalog (or not visible to you): release commands are kept and run only for entities the catalog knows',
  },
  {
    what: 'a run of an entity the catalog does not know',
    entity: 'ghost',
    method: 'post',
    path: '/runs',
    body: image => ({ image }),
    as: ADA,
    status: 404,
    error: 'NotFoundError',
    message:
      '<entity> is not in the catalog (or not visible to you): release commands are kept and run only for entities the catalog knows',
  },
  {
    what: 'a trigger the client says',
    entity: 'shop',
    method: 'post',
    path: '/runs',
    body: image => ({ image, trigger: 'pipeline' }),
    as: ADA,
    status: 400,
    error: 'InputError',
    message: 'body: unknown field "trigger"',
  },
  {
    what: 'a run without release-commands.runs.create',
    entity: 'shop',
    method: 'post',
    path: '/runs',
    body: image => ({ image }),
    as: MALLORY,
    status: 403,
    error: 'NotAllowedError',
    message: 'Not allowed: release-commands.runs.create on <entity>',
  },
  {
    what: 'reading runs without release-commands.runs.read',
    entity: 'shop',
    method: 'get',
    path: '/runs',
    as: MALLORY,
    status: 403,
    error: 'NotAllowedError',
    message: 'Not allowed: release-commands.runs.read on <entity>',
  },
  {
    what: 'reading commands without release-commands.commands.read',
    entity: 'shop',
    method: 'get',
    path: '/commands',
    as: MALLORY,
    status: 403,
    error: 'NotAllowedError',
    message: 'Not allowed: release-commands.commands.read on <entity>',
  },
  {
    what: 'writing commands without release-commands.commands.update',
    entity: 'shop',
    method: 'put',
    path: '/commands',
    body: () => ({
      revision: 1,
      commands: [{ label: 'Drop', command: 'echo dropped' }],
    }),
    as: MALLORY,
    status: 403,
    error: 'NotAllowedError',
    message: 'Not allowed: release-commands.commands.update on <entity>',
  },
  {
    what: 'adding a command without release-commands.commands.update',
    entity: 'shop',
    method: 'post',
    path: '/commands',
    body: () => ({ label: 'Drop', command: 'echo dropped' }),
    as: MALLORY,
    status: 403,
    error: 'NotAllowedError',
    message: 'Not allowed: release-commands.commands.update on <entity>',
  },
  {
    what: 'removing a command without release-commands.commands.update',
    entity: 'shop',
    method: 'delete',
    path: '/commands/<command>',
    as: MALLORY,
    status: 403,
    error: 'NotAllowedError',
    message: 'Not allowed: release-commands.commands.update on <entity>',
  },
  {
    what: "cancelling another's run without release-commands.runs.cancel",
    entity: 'busy',
    method: 'post',
    path: '/runs/<run>/cancel',
    as: BOB,
    status: 403,
    error: 'NotAllowedError',
    message: 'Not allowed: release-commands.runs.cancel on <entity>',
  },
];

describe.each(ids)('refusals on %p with a real Docker engine', databaseId => {
  let docker: Docker;
  let image: string;
  let knex: Knex;
  let api: Awaited<ReturnType<typeof startPlugin>>;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    knex = await databases.init(databaseId);
    api = await startPlugin({
      knex,
      config: {
        releaseCommands: {
          docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
          images: {
            allow: [{ repositoryPrefix: 'release-commands-test/' }],
            environments: {
              production: {
                allow: [{ image: 'release-commands-test/shop:2' }],
              },
            },
          },
        },
      },
      getEntityByRef: async ref => catalogEntity(ref),
      permission: (permission, user) => {
        if (user === MALLORY) return AuthorizeResult.DENY;
        if (user === BOB && permission === 'release-commands.runs.cancel') {
          return AuthorizeResult.DENY;
        }
        return AuthorizeResult.ALLOW;
      },
    });
  });

  afterAll(async () => {
    await api?.stop();
  });

  const suffix = databaseId.toLowerCase();
  const refOf = (name: string) => `component:default/${name}-${suffix}`;
  const pathOf = (name: string) =>
    `/entities/component/default/${name}-${suffix}`;

  /** Everything stored about an entity's commands and runs. */
  async function stored(entityRef: string) {
    const runs = await knex('release_command_runs')
      .where({ entity_ref: entityRef })
      .orderBy('id');
    const runIds = runs.map(run => run.id);
    return {
      lists: await knex('release_command_lists').where({
        entity_ref: entityRef,
      }),
      commands: await knex('release_commands')
        .where({ entity_ref: entityRef })
        .orderBy('position'),
      runs: runs.map(({ heartbeat_at: _heartbeat, ...run }) => run),
      steps: await knex('release_command_run_steps')
        .whereIn('run_id', runIds)
        .count({ n: '*' }),
    };
  }

  async function containersOf(entityRef: string) {
    return docker.listContainers({
      all: true,
      filters: { label: [`org.release-commands.entity=${entityRef}`] },
    });
  }

  /** Every entity but the ghost's has one command, as ada set it. */
  async function setUp(name: string) {
    if (name === 'ghost') return;
    const { body } = await api.get(`${pathOf(name)}/commands`).expect(200);
    if (body.commands.length > 0) return;
    await api
      .put(`${pathOf(name)}/commands`, {
        revision: body.revision,
        commands: [{ label: 'Wait', command: 'echo started; sleep 120' }],
      })
      .expect(200);
  }

  it.each(refusals.filter(r => !r.path.includes('<run>')))(
    'refuses $what with $status, and writes and starts nothing',
    async refusal => {
      await setUp(refusal.entity);
      const entityRef = refOf(refusal.entity);
      const before = await stored(entityRef);
      const commandId = before.commands[0]?.id ?? 'none';

      const url = `/api/release-commands${pathOf(refusal.entity)}${
        refusal.path
      }`.replace('<command>', String(commandId));
      const res = await request(api.server)
        [refusal.method](url)
        .set('Authorization', mockCredentials.user.header(refusal.as))
        .send(refusal.body?.(image))
        .expect(refusal.status);
      expect(res.body.error).toMatchObject({
        name: refusal.error,
        message: refusal.message
          .replace('<entity>', entityRef)
          .replace('<image>', image),
      });

      // Nothing written: the rows are as they were, and so is what the API
      // reads back.
      expect(await stored(entityRef)).toEqual(before);
      const known = refusal.entity !== 'ghost';
      const commands = await api.get(`${pathOf(refusal.entity)}/commands`);
      const runs = await api.get(`${pathOf(refusal.entity)}/runs`);
      expect({
        stored: before.commands.length,
        commands: commands.status,
        ids: commands.body.commands?.map((c: { id: string }) => c.id),
        runs: runs.status,
        page: runs.body.runs,
      }).toEqual(
        known
          ? {
              stored: 1,
              commands: 200,
              ids: before.commands.map(c => c.id),
              runs: 200,
              page: [],
            }
          : {
              stored: 0,
              commands: 404,
              ids: undefined,
              // Runs outlive their entity, so their list asks no catalog.
              runs: 200,
              page: [],
            },
      );
      // Nothing started, nor pulled.
      expect(await containersOf(entityRef)).toEqual([]);
      const asked = (refusal.body?.(image) as { image?: string })?.image;
      const pulled =
        asked !== undefined && asked !== image
          ? await docker
              .getImage(asked)
              .inspect()
              .then(
                () => true,
                error => {
                  if (error.statusCode === 404) return false;
                  throw error;
                },
              )
          : false;
      expect(pulled).toBe(false);
    },
  );

  it.each(refusals.filter(r => r.path.includes('<run>')))(
    'refuses $what with $status, and the run goes on',
    async refusal => {
      await setUp(refusal.entity);
      const entityRef = refOf(refusal.entity);
      const { body: run } = await api
        .post(`${pathOf(refusal.entity)}/runs`, { image })
        .expect(202);
      const waiting: string = run.id;
      // Refused while the step runs, so that a stop would show.
      const until = Date.now() + 60_000;
      const running = async () =>
        (await containersOf(entityRef)).some(c => c.State === 'running');
      while (!(await running())) {
        if (Date.now() > until) throw new Error('the step did not start');
        await new Promise(resolve => setTimeout(resolve, 100));
      }
      const before = await stored(entityRef);

      const res = await request(api.server)
        [refusal.method](
          `/api/release-commands${refusal.path.replace('<run>', waiting)}`,
        )
        .set('Authorization', mockCredentials.user.header(refusal.as))
        .expect(refusal.status);
      expect(res.body.error).toMatchObject({
        name: refusal.error,
        message: refusal.message.replace('<entity>', entityRef),
      });

      const after = await stored(entityRef);
      expect(after.runs).toEqual(before.runs);
      expect(after.runs[0]).toMatchObject({
        cancel_requested_by: null,
        cancel_requested_at: null,
      });
      const { body: read } = await api.get(`/runs/${waiting}`).expect(200);
      expect(read).toMatchObject({
        status: 'running',
        cancelRequestedBy: null,
      });
      expect(
        (await containersOf(entityRef)).map(container => container.State),
      ).toEqual(['running']);

      // Its starter may stop it.
      await api.post(`/runs/${waiting}/cancel`).expect(202);
      for (;;) {
        const { body } = await api.get(`/runs/${waiting}`).expect(200);
        if (body.status === 'cancelled') break;
        if (Date.now() > until) throw new Error('the run did not end');
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    },
  );
});
