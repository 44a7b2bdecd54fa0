import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { V1Job } from '@kubernetes/client-node';
// The backend plugin this module extends, started beside it as an adopter would.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import releaseCommandsPlugin from '@release-commands/backstage-plugin-release-commands-backend';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { FakeKubernetesApi } from './__testUtils__/FakeKubernetesApi';
import { releaseCommandsModuleKubernetes } from './module';

const SECRET = 'postgres://shop:hunter2-hunter2@db/shop';

// A shared 2-CPU CI machine runs other suites meanwhile: a safety net for
// slow turns, not a timing assertion (the tests wait for conditions).
jest.setTimeout(30_000);

describe('releaseCommandsModuleKubernetes', () => {
  let api: FakeKubernetesApi;
  let dir: string;

  beforeEach(async () => {
    api = await FakeKubernetesApi.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubeconfig-'));
  });

  afterEach(async () => {
    await api.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs a deploy’s release commands as Jobs on the cluster of its kubeconfig file', async () => {
    const kubeconfigPath = path.join(dir, 'config');
    await fs.writeFile(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'test',
            // Plain HTTP, which the client allows only so.
            cluster: { server: api.url, 'insecure-skip-tls-verify': true },
          },
        ],
        users: [{ name: 'test', user: { token: 'test-token' } }],
        contexts: [
          { name: 'test', context: { cluster: 'test', user: 'test' } },
        ],
        'current-context': 'test',
      }),
    );
    const { server } = await startTestBackend({
      features: [
        releaseCommandsPlugin,
        releaseCommandsModuleKubernetes,
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: { name: 'shop', namespace: 'default', uid: 'shop' },
            },
          ],
        }),
        mockServices.rootConfig.factory({
          data: {
            releaseCommands: {
              images: {
                allow: [{ repositoryPrefix: 'registry.example.com/' }],
              },
              kubernetes: { kubeconfigPath, namespace: 'release' },
            },
          },
        }),
      ],
    });
    const auth = mockCredentials.user.header('user:default/ada');
    const base = '/api/release-commands/entities/component/default/shop';
    await request(server)
      .put(`${base}/commands`)
      .set('Authorization', auth)
      .send({
        revision: 0,
        commands: [
          { label: 'Migrate database', command: 'python manage.py migrate' },
          {
            label: 'Collect static',
            command: 'python manage.py collectstatic',
          },
        ],
      })
      .expect(200);
    const { body: run } = await request(server)
      .post(`${base}/runs`)
      .set('Authorization', auth)
      .send({
        image: 'registry.example.com/shop:2',
        env: { DATABASE_URL: SECRET },
      })
      .expect(202);

    const first = await api.pod(0);
    first.running().write('Applying shop.0001_initial... OK');
    first.write(`connected to ${SECRET}`).terminate(0);
    const second = await api.pod(1);
    second.running().write('42 static files copied').terminate(0);

    let ended = run;
    while (['queued', 'running'].includes(ended.status)) {
      await new Promise(resolve => setTimeout(resolve, 20));
      ({ body: ended } = await request(server)
        .get(`/api/release-commands/runs/${run.id}`)
        .set('Authorization', auth));
    }
    expect(ended).toMatchObject({
      status: 'succeeded',
      steps: [
        { status: 'succeeded', exitCode: 0 },
        { status: 'succeeded', exitCode: 0 },
      ],
    });
    const log = await request(server)
      .get(`/api/release-commands/runs/${run.id}/logs`)
      .set('Authorization', auth);
    expect(log.text).toContain(`kubernetes (${api.url}, namespace release)`);
    expect(log.text).toContain(
      '[1/2] Migrate database: python manage.py migrate\nApplying shop.0001_initial... OK\nconnected to ',
    );
    expect(log.text).toContain('42 static files copied\n');
    expect(log.text).toMatch(/Release commands passed/);
    expect(log.text).not.toContain(SECRET);

    // Each step was a Job of its own, with the env only in the run's Secret,
    // and nothing is left once the run has ended.
    const jobs = api.requestsFor('POST', /\/jobs$/).map(r => r.body as V1Job);
    expect(jobs.map(j => j.spec!.template.spec!.containers[0].command)).toEqual(
      [
        ['/bin/sh', '-c', 'python manage.py migrate'],
        ['/bin/sh', '-c', 'python manage.py collectstatic'],
      ],
    );
    expect(JSON.stringify(jobs)).not.toContain(SECRET);
    expect(api.jobs()).toEqual([]);
    expect(api.secrets()).toEqual([]);
  }, 30_000);
});
