import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
// The plugin that the actions call, started beside the scaffolder as in the portal.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import releaseCommandsPlugin from '@release-commands/backstage-plugin-release-commands-backend';
import { ReleaseCommandsClient } from '@release-commands/backstage-plugin-release-commands-common';
import {
  buildBusyboxImage,
  BUSYBOX_TEST_IMAGE,
  requireDocker,
} from '@release-commands/test-utils';
import fs from 'node:fs';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import yaml from 'yaml';
import { pluginAuthFactory } from './__testUtils__/pluginAuth';
import { scaffolderModuleReleaseCommands } from './module';

// Containers, and a scaffolder task worker that polls.
jest.setTimeout(60_000);

const TEMPLATES_DIR = path.resolve(__dirname, '../../../examples/templates');
const USER = 'user:default/ada';
const APP_URL = 'http://localhost:3000';

/** A template of examples/templates as the catalog serves it from its file location. */
function templateEntity(name: string): Entity {
  const file = path.join(TEMPLATES_DIR, name, 'template.yaml');
  const entity = yaml.parse(fs.readFileSync(file, 'utf8')) as Entity;
  entity.metadata.namespace = 'default';
  entity.metadata.annotations = {
    ...entity.metadata.annotations,
    'backstage.io/managed-by-location': `file:${file}`,
    'backstage.io/managed-by-origin-location': `file:${file}`,
  };
  return entity;
}

/** Every file of a template's folder, as the template editor sends them. */
function templateFiles(name: string) {
  const dir = path.join(TEMPLATES_DIR, name);
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter(file => fs.statSync(path.join(dir, file)).isFile())
    .map(file => ({
      path: file,
      base64Content: fs.readFileSync(path.join(dir, file)).toString('base64'),
    }));
}

const shop: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'shop',
    namespace: 'default',
    annotations: { 'release-commands/image': BUSYBOX_TEST_IMAGE },
  },
  spec: { type: 'service', lifecycle: 'production', owner: 'guests' },
};

/**
 * The component the Django service template creates, as the catalog has it
 * once registered: the release-commands backend keeps commands only for
 * entities the catalog knows. The dry run's `dry-orders` is left out, as a
 * new service is before it is registered.
 */
const ordersApi: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'orders-api', namespace: 'default' },
  spec: { type: 'service', lifecycle: 'experimental', owner: 'guests' },
};

/** A task log line without the logger's colour and level, as it reads in the portal. */
const logText = (message: string) =>
  stripVTControlCharacters(message).replace(/^(info|warn|error|debug): /, '');

type TaskEvent = {
  type: string;
  body: { message: string; stepId?: string; status?: string; output?: any };
};

/**
 * The scaffolder with this module and the release-commands backend in one
 * backend, as in the portal; the example templates are in the catalog.
 */
describe('the scaffolder with the release-commands module', () => {
  let baseUrl: string;
  let stop: () => Promise<void>;
  let api: ReleaseCommandsClient;

  beforeAll(async () => {
    const backend = await startTestBackend({
      features: [
        scaffolderPlugin,
        scaffolderModuleReleaseCommands,
        releaseCommandsPlugin,
        pluginAuthFactory,
        catalogServiceMock.factory({
          entities: [
            templateEntity('django-service'),
            templateEntity('deploy'),
            shop,
            ordersApi,
          ],
        }),
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: APP_URL },
            releaseCommands: {
              images: {
                allow: [{ repositoryPrefix: 'release-commands-test/' }],
              },
              docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
            },
          },
        }),
      ],
    });
    stop = () => backend.stop();
    const { port } = backend.server.address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}/api`;
    api = new ReleaseCommandsClient({
      baseUrl: async () => `${baseUrl}/release-commands`,
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('Authorization', mockCredentials.user.header(USER));
        return fetch(input, { ...init, headers });
      },
    });
  });
  afterAll(() => stop?.());

  async function call(method: string, route: string, body?: unknown) {
    const res = await fetch(`${baseUrl}/scaffolder${route}`, {
      method,
      headers: {
        Authorization: mockCredentials.user.header(USER),
        'Content-Type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) {
      throw new Error(
        `${method} ${route}: ${res.status} ${JSON.stringify(json)}`,
      );
    }
    return json;
  }

  async function startTask(template: string, values: Record<string, unknown>) {
    const { id } = await call('POST', '/v2/tasks', {
      templateRef: `template:default/${template}`,
      values,
    });
    return id as string;
  }

  async function taskEvents(id: string): Promise<TaskEvent[]> {
    return call('GET', `/v2/tasks/${id}/events`);
  }

  async function waitForTask(id: string, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const task = await call('GET', `/v2/tasks/${id}`);
      if (!['open', 'processing'].includes(task.status)) {
        const events = await taskEvents(id);
        return {
          status: task.status as string,
          log: events
            .filter(e => e.type === 'log')
            .map(e => logText(e.body.message)),
          output: events.find(e => e.type === 'completion')?.body.output,
        };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Task ${id} still ${task.status} after ${timeoutMs} ms`,
        );
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  it('lists both actions with their descriptions and examples', async () => {
    const actions: Array<{
      id: string;
      description: string;
      examples: unknown[];
    }> = await call('GET', '/v2/actions');
    for (const id of ['release-commands:add', 'release-commands:run']) {
      const action = actions.find(a => a.id === id);
      expect(action?.description).toMatch(/release commands/);
      expect(action?.examples.length).toBeGreaterThan(0);
    }
  });

  describe('the Django service template', () => {
    const values = {
      name: 'orders-api',
      description: 'Takes orders',
      owner: 'group:default/guests',
      framework: 'django',
      image: 'registry.example.com/shop/orders-api:1',
    };

    it('in a dry run, generates the service and says what it would add, writing nothing', async () => {
      const result = await call('POST', '/v2/dry-run', {
        template: templateEntity('django-service'),
        values: { ...values, name: 'dry-orders' },
        directoryContents: templateFiles('django-service'),
      });

      const files = Object.fromEntries(
        result.directoryContents.map((f: any) => [
          f.path,
          Buffer.from(f.base64Content, 'base64').toString('utf8'),
        ]),
      );
      expect(Object.keys(files).sort()).toEqual([
        'Dockerfile',
        'app/__init__.py',
        'app/settings.py',
        'app/urls.py',
        'app/wsgi.py',
        'catalog-info.yaml',
        'manage.py',
        'requirements.txt',
      ]);
      expect(yaml.parse(files['catalog-info.yaml'])).toMatchObject({
        kind: 'Component',
        metadata: {
          name: 'dry-orders',
          annotations: { 'release-commands/image': values.image },
        },
        spec: { owner: 'group:default/guests' },
      });
      const log = result.log.map((e: any) => logText(e.body.message));
      // Not registered (a dry run registers nothing): no waiting, the plan
      // is against an empty list.
      expect(log).toContain(
        'Dry run: component:default/dry-orders is not in the catalog yet (or not visible to you); a real run would wait up to 300 s for the catalog to ingest it (registered by an earlier step?), then add to its empty list',
      );
      expect(log).toContain(
        'Dry run: would add "Migrate database" (framework): python manage.py migrate --noinput',
      );
      // Nothing can have been kept for it: the API refuses an entity the
      // catalog does not know.
      await expect(
        api.getCommands('component:default/dry-orders'),
      ).rejects.toMatchObject({
        statusCode: 404,
        body: {
          error: {
            message: expect.stringContaining(
              'component:default/dry-orders is not in the catalog',
            ),
          },
        },
      });
    });

    it("presets the new component's release commands, read back through the API", async () => {
      const task = await waitForTask(await startTask('django-service', values));

      expect(task.status).toBe('completed');
      const list = await api.getCommands('component:default/orders-api');
      expect(
        list.commands.map(c => ({
          label: c.label,
          command: c.command,
          source: c.source,
          createdBy: c.createdBy,
        })),
      ).toEqual([
        {
          label: 'Migrate database',
          command: 'python manage.py migrate --noinput',
          source: 'framework',
          createdBy: USER,
        },
        {
          label: 'Check deployment settings',
          command: 'python manage.py check --deploy',
          source: 'template',
          createdBy: USER,
        },
      ]);
      expect(task.output.links).toEqual([
        {
          title: 'Release commands',
          url: '/catalog/default/component/orders-api/release-commands',
        },
      ]);
      expect(task.output.text[0].content).toMatch(
        /^component:default\/orders-api has 2 release commands;/,
      );

      // The same template again (a second try after a failed publish, say).
      const again = await waitForTask(
        await startTask('django-service', values),
      );
      expect(again.status).toBe('completed');
      expect(again.log).toContain(
        'component:default/orders-api already has every requested command',
      );
      expect(await api.getCommands('component:default/orders-api')).toEqual(
        list,
      );
    });
  });

  describe('the Deploy template, on a real engine', () => {
    beforeAll(async () => {
      await buildBusyboxImage(await requireDocker());
    });

    it("runs the service's commands on the image of its annotation and links the run", async () => {
      await api.replaceCommands('component:default/shop', {
        revision: (await api.getCommands('component:default/shop')).revision,
        commands: [
          { label: 'Migrate', command: 'echo "Applying 0001_initial... OK"' },
        ],
      });

      const task = await waitForTask(
        await startTask('deploy', {
          entity: 'component:default/shop',
          environment: 'staging',
        }),
      );

      expect(task.status).toBe('completed');
      expect(task.log).toEqual(
        expect.arrayContaining([
          '[1/1] Migrate: echo "Applying 0001_initial... OK"',
          'Applying 0001_initial... OK',
        ]),
      );
      const [run] = (await api.listRuns('component:default/shop')).runs;
      expect(run).toMatchObject({
        image: BUSYBOX_TEST_IMAGE,
        environment: 'staging',
        status: 'succeeded',
        trigger: 'template',
        triggeredBy: USER,
      });
      expect(task.output.links).toEqual([
        {
          title: 'Release commands run',
          url: `${APP_URL}/catalog/default/component/shop/release-commands?run=${run.id}`,
        },
      ]);
    });

    it('fails the task when a command fails, and cancels the run when the task is cancelled', async () => {
      const setCommands = async (command: string) =>
        api.replaceCommands('component:default/shop', {
          revision: (await api.getCommands('component:default/shop')).revision,
          commands: [{ label: 'Migrate', command }],
        });
      const deploy = {
        entity: 'component:default/shop',
        image: BUSYBOX_TEST_IMAGE,
      };

      await setCommands('echo "no such table" >&2; exit 1');
      const failed = await waitForTask(await startTask('deploy', deploy));
      expect(failed.status).toBe('failed');
      expect(failed.log).toContain('no such table');
      expect(failed.log.join('\n')).toMatch(
        /Release commands of component:default\/shop failed: "Migrate" exited with code 1/,
      );

      await setCommands('echo migrating; sleep 60');
      const id = await startTask('deploy', deploy);
      const deadline = Date.now() + 20_000;
      while (
        !(await taskEvents(id)).some(
          e => logText(e.body.message) === 'migrating',
        )
      ) {
        if (Date.now() > deadline) throw new Error('The run never started');
        await new Promise(resolve => setTimeout(resolve, 100));
      }
      await call('POST', `/v2/tasks/${id}/cancel`);
      const cancelled = await waitForTask(id);
      // The scaffolder ends a cancelled task as failed, after the step returns.
      expect(cancelled.status).toBe('failed');
      const [run] = (await api.listRuns('component:default/shop')).runs;
      expect(run).toMatchObject({
        status: 'cancelled',
        cancelRequestedBy: USER,
      });
      expect(cancelled.log).toEqual(
        expect.arrayContaining([
          `The task was cancelled: cancelling run ${run.id}`,
          `Release commands cancelled: Cancelled by ${USER} while "Migrate" was running. The deployment must not proceed.`,
        ]),
      );
    });
  });
});
