import { V1Job, V1Secret } from '@kubernetes/client-node';
import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';
import { FakeKubernetesApi } from './__testUtils__/FakeKubernetesApi';
import { SECRET_VALUE, stepRequest } from './__testUtils__/stepRequest';
import { KubernetesExecutor } from './KubernetesExecutor';
import { KubernetesExecutorOptions } from './readKubernetesExecutorOptions';

const NAMESPACE = 'release';
const RUN = '6f1c0d3e-0000-4000-8000-000000000001';

// A shared 2-CPU CI machine runs other suites meanwhile: a safety net for
// slow turns, not a timing assertion (the tests wait for conditions).
jest.setTimeout(30_000);

describe('KubernetesExecutor', () => {
  let api: FakeKubernetesApi;

  beforeEach(async () => {
    api = await FakeKubernetesApi.start();
  });

  afterEach(async () => {
    await api.stop();
  });

  function executor(options: Partial<KubernetesExecutorOptions> = {}) {
    return new KubernetesExecutor({
      kubeConfig: api.kubeConfig(),
      options: {
        namespace: NAMESPACE,
        stopGracePeriodSeconds: 7,
        startFailureGraceMs: 300,
        ...options,
      },
    });
  }

  function createdJobs(): V1Job[] {
    return api
      .requestsFor('POST', /\/apis\/batch\/v1\/namespaces\/release\/jobs$/)
      .map(r => r.body as V1Job);
  }

  it('runs a passing step as a Job made to run once, and deletes it after reading its whole log', async () => {
    const step = stepRequest();
    const running = executor().runStep(step.request);
    const pod = await api.pod(0);
    pod.waiting('ContainerCreating').running();
    pod.write('Applying 0001_initial... OK', 'done');
    await api.until(() => step.output().includes('done'));
    pod.write('last line').terminate(0);

    const result = await running;
    expect(result).toEqual({
      exitCode: 0,
      oomKilled: false,
      workloadId: expect.stringMatching(/^release-commands-step-1-\w{5}$/),
    });
    expect(step.started).toEqual([result.workloadId]);
    expect(step.output()).toBe(
      'Applying 0001_initial... OK\ndone\nlast line\n',
    );
    // Deleted only after the log's end was read.
    const deletes = api.requestsFor('DELETE', /\/jobs\//);
    expect(deletes).toHaveLength(1);
    const lastLogRead = api.requests.findLastIndex(r =>
      r.path.endsWith('/log'),
    );
    expect(api.requests.indexOf(deletes[0])).toBeGreaterThan(lastLogRead);
    expect(api.jobs()).toEqual([]);

    const [job] = createdJobs();
    const labels = {
      'org.release-commands.managed': 'true',
      'org.release-commands.run': RUN,
      'org.release-commands.step': '1',
    };
    const annotations = {
      'org.release-commands.entity': 'component:default/shop',
      'org.release-commands.instance': 'backend-1:42:abcd',
      'org.release-commands.expires-at':
        step.request.labels.expiresAt.toISOString(),
    };
    expect(job.metadata).toEqual({
      generateName: 'release-commands-step-1-',
      labels,
      annotations,
    });
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      ttlSecondsAfterFinished: 3600,
      podFailurePolicy: {
        rules: expect.arrayContaining([
          expect.objectContaining({
            action: 'FailJob',
            onExitCodes: {
              containerName: 'step',
              operator: 'NotIn',
              values: [0],
            },
          }),
        ]),
      },
      template: {
        metadata: { labels, annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 7,
          containers: [
            {
              name: 'step',
              image: 'registry.example.com/shop@sha256:0123',
              command: ['/bin/sh', '-c', 'python manage.py migrate'],
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    });
    // The step's expiry: its timeout and graces, as the backend reckons it.
    expect(job.spec!.activeDeadlineSeconds).toBeGreaterThan(590);
    expect(job.spec!.activeDeadlineSeconds).toBeLessThanOrEqual(600);
  });

  it('never writes the env into a Job or pod spec: it comes from the run’s Secret', async () => {
    const step = stepRequest();
    const running = executor().runStep(step.request);
    const pod = await api.pod(0);
    await api.until(
      () => api.secrets()[0]?.metadata?.ownerReferences !== undefined,
    );
    const [secret] = api.secrets();
    expect(secret.stringData).toEqual(step.request.env);
    expect(secret.metadata!.labels).toEqual({
      'org.release-commands.managed': 'true',
      'org.release-commands.run': RUN,
    });
    // Owned by the step's Job, so that the cluster deletes it along.
    expect(secret.metadata!.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Job',
        name: api.jobs()[0].metadata!.name,
        uid: api.jobs()[0].metadata!.uid,
      }),
    ]);
    pod.running().terminate(0);
    await running;

    const [job] = createdJobs();
    const sent = api.requests
      .filter(r => /\/(jobs|pods)/.test(r.path))
      .map(r => JSON.stringify(r.body ?? ''));
    expect(sent.join('\n')).not.toContain(SECRET_VALUE);
    expect(job.spec!.template.spec!.containers[0]).toMatchObject({
      envFrom: [{ secretRef: { name: `release-commands-env-${RUN}` } }],
    });
    expect(job.spec!.template.spec!.containers[0].env).toBeUndefined();
  });

  it('gives the run’s Secret to each step and deletes it when the run ends', async () => {
    const kubernetes = executor();
    for (const position of [1, 2]) {
      const step = stepRequest({ step: position });
      const running = kubernetes.runStep(step.request);
      (await api.pod(position - 1))
        .running()
        .write(`step ${position}`)
        .terminate(0);
      await running;
      expect(step.output()).toBe(`step ${position}\n`);
    }
    // The cluster's garbage collector may have deleted it with the last Job.
    await kubernetes.endRun(RUN);
    expect(api.secrets()).toEqual([]);
    // Before each step's Job, written without owners: the deletion of the
    // last step's Job must not take it along.
    const writes = api.requests.filter(
      r => /\/(secrets|jobs)/.test(r.path) && r.method !== 'GET',
    );
    const jobPosts = writes.filter(r => /\/jobs$/.test(r.path));
    expect(jobPosts).toHaveLength(2);
    for (const jobPost of jobPosts) {
      const before = writes[writes.indexOf(jobPost) - 1];
      expect(before.path).toMatch(/\/secrets/);
      const secret = before.body as V1Secret;
      expect(secret.metadata!.name).toBe(`release-commands-env-${RUN}`);
      expect(secret.metadata!.ownerReferences).toBeUndefined();
      expect(secret.stringData).toEqual(
        expect.objectContaining({ DATABASE_PASSWORD: SECRET_VALUE }),
      );
    }
  });

  it('deletes the run’s Secret when the run ends even while a Job still owns it', async () => {
    const kubernetes = executor();
    const step = stepRequest();
    const running = kubernetes.runStep(step.request);
    const pod = await api.pod(0);
    await api.until(
      () => api.secrets()[0]?.metadata?.ownerReferences !== undefined,
    );
    await kubernetes.endRun(RUN);
    expect(api.secrets()).toEqual([]);
    pod.running().terminate(0);
    await running;
  });

  it('reports a failing step with its exit code', async () => {
    const step = stepRequest();
    const running = executor().runStep(step.request);
    (await api.pod(0)).running().write('Security check failed').terminate(3);
    await expect(running).resolves.toMatchObject({
      exitCode: 3,
      oomKilled: false,
    });
    expect(step.output()).toBe('Security check failed\n');
  });

  it.each([
    [137, 'killed at the limit'],
    [0, 'even when the command exited 0'],
  ])(
    'says when the kubelet killed the command for memory (exit %p, %s)',
    async exitCode => {
      const step = stepRequest();
      const running = executor().runStep(step.request);
      (await api.pod(0)).running().terminate(exitCode, 'OOMKilled');
      await expect(running).resolves.toMatchObject({
        exitCode,
        oomKilled: true,
      });
    },
  );

  it('stops a cancelled step by deleting its Job with propagation and the grace period', async () => {
    const step = stepRequest();
    const running = executor().runStep(step.request);
    const pod = await api.pod(0);
    pod.running().write('migrating...');
    await api.until(() => step.output() === 'migrating...\n');
    step.controller.abort();

    const result = await running;
    expect(result.exitCode).toBe(143);
    const deletes = api.requestsFor('DELETE', /\/jobs\//);
    expect(deletes).toHaveLength(1);
    expect(Object.fromEntries(deletes[0].query)).toMatchObject({
      propagationPolicy: 'Foreground',
      gracePeriodSeconds: '7',
    });
    expect(api.jobs()).toEqual([]);
    expect(step.output()).toBe('migrating...\n');
  });

  it('stops a step that times out the same way, also before its pod started', async () => {
    const step = stepRequest({ signal: AbortSignal.timeout(200) });
    const running = executor().runStep(step.request);
    (await api.pod(0)).waiting('ContainerCreating');

    await expect(running).resolves.toMatchObject({ exitCode: 137 });
    const deletes = api.requestsFor('DELETE', /\/jobs\//);
    expect(deletes).toHaveLength(1);
    expect(Object.fromEntries(deletes[0].query)).toMatchObject({
      propagationPolicy: 'Foreground',
      gracePeriodSeconds: '7',
    });
    expect(api.jobs()).toEqual([]);
  });

  it.each([
    [
      'ErrImagePull',
      'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop:9": not found',
      'image',
      'Kubernetes could not pull the image',
    ],
    [
      'ImagePullBackOff',
      'Back-off pulling image "registry.example.com/shop:9"',
      'image',
      'Kubernetes could not pull the image',
    ],
    [
      'CreateContainerConfigError',
      'secret "release-commands-env-x" not found',
      'command',
      'Kubernetes could not start the command',
    ],
  ])(
    'fails a step whose pod stays in %s, with Kubernetes’s message',
    async (reason, message, kind, what) => {
      const step = stepRequest();
      const running = executor().runStep(step.request);
      (await api.pod(0)).waiting(reason, message);

      const error = await running.catch(e => e);
      expect(error).toBeInstanceOf(ExecutorError);
      expect(error.kind).toBe(kind);
      expect(error.message).toMatch(`${what} (pod `);
      expect(error.message).toContain(`${reason}: ${message}`);
      expect(api.jobs()).toEqual([]);
    },
  );

  it('fails a step whose pod cannot be scheduled', async () => {
    const step = stepRequest();
    const running = executor().runStep(step.request);
    (await api.pod(0)).unschedulable(
      '0/3 nodes are available: 3 Insufficient memory.',
    );
    const error = await running.catch(e => e);
    expect(error).toMatchObject({ name: 'ExecutorError', kind: 'engine' });
    expect(error.message).toContain(
      'Unschedulable: 0/3 nodes are available: 3 Insufficient memory.',
    );
  });

  it('waits out a pull error that clears within the configured wait', async () => {
    const step = stepRequest();
    const running = executor({ startFailureGraceMs: 60_000 }).runStep(
      step.request,
    );
    const pod = await api.pod(0);
    pod.waiting('ErrImagePull', 'i/o timeout');
    pod.waiting('ImagePullBackOff', 'Back-off pulling image');
    pod.running().write('ok').terminate(0);
    await expect(running).resolves.toMatchObject({ exitCode: 0 });
    expect(step.output()).toBe('ok\n');
  });

  it('fails the step for the engine when the API keeps failing while it runs', async () => {
    const step = stepRequest();
    const running = executor({ apiFailureGraceMs: 300 }).runStep(step.request);
    const pod = await api.pod(0);
    pod.running().write('migrating...');
    await api.until(() => step.output() === 'migrating...\n');
    api.failEverything();

    const error = await running.catch(e => e);
    expect(error).toMatchObject({ name: 'ExecutorError', kind: 'engine' });
    expect(error.message).toMatch(
      /^The Kubernetes API at http:\/\/127\.0\.0\.1:\d+ failed for \d+s while watching the step's pod: (the API server is down \(HTTP 503\)|Service Unavailable)$/,
    );
  });

  it('loses and repeats no line when log follows end early', async () => {
    api.cutLogFollowsAfterLines = 2;
    const step = stepRequest();
    const running = executor().runStep(step.request);
    const pod = await api.pod(0);
    pod.running();
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    // Written in bursts while the follows are cut, all within one second.
    pod.write(...lines.slice(0, 5));
    await api.until(() => step.output().includes('line 5\n'));
    pod.write(...lines.slice(5, 9));
    await api.until(() => step.output().includes('line 9\n'));
    pod.write(...lines.slice(9)).terminate(0);
    await running;

    expect(step.output()).toBe(lines.map(l => `${l}\n`).join(''));
    const logRequests = api.requests.filter(r => r.path.endsWith('/log'));
    const follows = logRequests.filter(r => r.query.get('follow') === 'true');
    expect(follows.length).toBeGreaterThan(2);
    expect(follows.every(r => r.query.get('timestamps') === 'true')).toBe(true);
    // Resumed from the second of the last line seen.
    const resumed = logRequests.filter(r => r.query.has('sinceTime'));
    expect(resumed.length).toBeGreaterThan(2);
    expect(
      resumed.every(r => r.query.get('sinceTime') === '2026-01-01T00:00:00Z'),
    ).toBe(true);
  });

  it('tells apart repeated lines with one same timestamp across a cut follow', async () => {
    api.cutLogFollowsAfterLines = 2;
    const step = stepRequest();
    const running = executor().runStep(step.request);
    const pod = await api.pod(0);
    pod.running().write('start');
    pod.writeTogether('.', '.', '.', 'x', '.');
    await api.until(() => step.output().split('\n').length === 7);
    pod.write('end').terminate(0);
    await running;
    expect(step.output()).toBe('start\n.\n.\n.\nx\n.\nend\n');
  });

  /**
   * A step whose pod's watches each end after one change, as a server's
   * timeout ends them, once its first watch is open; and its watches.
   */
  async function stepWithShortWatches() {
    api.endWatchesAfterEvents = 1;
    const step = stepRequest();
    const running = executor().runStep(step.request);
    const pod = await api.pod(0);
    const watches = () =>
      api.requests.filter(r => r.query.get('watch') === 'true');
    await api.until(() => watches().length === 1);
    return { step, running, pod, watches };
  }

  it('watches again from the last resourceVersion when a watch ends', async () => {
    const { step, running, pod, watches } = await stepWithShortWatches();
    // The first watch ends after the first change; the second happens
    // before the next watch is open, which must then replay it.
    pod.waiting('ContainerCreating');
    pod.running().write('hello');
    await api.until(() => step.output() === 'hello\n');
    pod.terminate(0);
    await expect(running).resolves.toMatchObject({ exitCode: 0 });

    const made = watches();
    expect(made.length).toBeGreaterThanOrEqual(3);
    expect(
      made.every(w => /^controller-uid=/.test(w.query.get('labelSelector')!)),
    ).toBe(true);
    // Each from the last version the one before saw, never from scratch.
    const versions = made.map(w => Number(w.query.get('resourceVersion')));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('lists the pod again when its last resourceVersion is too old (410), and misses no change', async () => {
    const { step, running, pod } = await stepWithShortWatches();
    const lists = () =>
      api.requests.filter(
        r =>
          r.method === 'GET' &&
          /\/pods$/.test(r.path) &&
          r.query.get('watch') !== 'true',
      );
    const listsBefore = lists().length;
    // The first watch ends after this change; the next one is refused as
    // too old, and the pod goes on running meanwhile.
    api.expireNextWatches = 1;
    pod.waiting('ContainerCreating');
    pod.running().write('hello');
    await api.until(() => step.output() === 'hello\n');
    pod.terminate(0);
    await expect(running).resolves.toMatchObject({ exitCode: 0 });

    expect(api.expireNextWatches).toBe(0);
    expect(lists().length).toBeGreaterThan(listsBefore);
  });

  it('deep-merges the pod template patch and applies the pod settings', async () => {
    const step = stepRequest();
    const running = executor({
      serviceAccountName: 'release-commands',
      nodeSelector: { pool: 'jobs' },
      tolerations: [{ key: 'jobs', operator: 'Exists', effect: 'NoSchedule' }],
      imagePullSecrets: ['registry'],
      resources: { limits: { memory: '512Mi' } },
      podTemplatePatch: {
        metadata: { labels: { team: 'shop' } },
        spec: {
          containers: [
            {
              name: 'step',
              volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
            },
          ],
          volumes: [{ name: 'cache', emptyDir: {} }],
        },
      },
    }).runStep(step.request);
    (await api.pod(0)).running().terminate(0);
    await running;

    const { template } = createdJobs()[0].spec!;
    expect(template.metadata!.labels).toMatchObject({
      team: 'shop',
      'org.release-commands.run': RUN,
    });
    expect(template.spec).toMatchObject({
      serviceAccountName: 'release-commands',
      nodeSelector: { pool: 'jobs' },
      tolerations: [{ key: 'jobs', operator: 'Exists', effect: 'NoSchedule' }],
      imagePullSecrets: [{ name: 'registry' }],
      volumes: [{ name: 'cache', emptyDir: {} }],
      containers: [
        {
          name: 'step',
          command: ['/bin/sh', '-c', 'python manage.py migrate'],
          resources: { limits: { memory: '512Mi' } },
          volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
        },
      ],
    });
  });

  it('reaps the Jobs and Secrets of runs that are not alive or expired, and nothing else', async () => {
    const ours = (name: string, runId: string, expiresAt: Date) => ({
      metadata: {
        name,
        labels: {
          'org.release-commands.managed': 'true',
          'org.release-commands.run': runId,
        },
        annotations: {
          'org.release-commands.expires-at': expiresAt.toISOString(),
        },
      },
    });
    const later = new Date(Date.now() + 600_000);
    const earlier = new Date(Date.now() - 1000);
    api.seed('jobs', NAMESPACE, ours('dead-job', 'dead', later));
    api.seed('jobs', NAMESPACE, ours('expired-job', 'alive', earlier));
    api.seed('jobs', NAMESPACE, ours('alive-job', 'alive', later));
    api.seed('jobs', NAMESPACE, { metadata: { name: 'not-ours' } });
    api.seed('jobs', 'elsewhere', ours('other-namespace', 'dead', later));
    api.seed('secrets', NAMESPACE, ours('dead-secret', 'dead', later));
    api.seed('secrets', NAMESPACE, ours('alive-secret', 'alive', later));
    api.seed('secrets', NAMESPACE, { metadata: { name: 'not-ours' } });
    const asked: string[] = [];

    const removed = await executor().removeLeftovers({
      isAlive: async runId => {
        asked.push(runId);
        return runId === 'alive';
      },
    });
    expect(removed.sort()).toEqual([
      'job/dead-job',
      'job/expired-job',
      'secret/dead-secret',
    ]);
    expect(
      api
        .jobs()
        .map(j => j.metadata!.name)
        .sort(),
    ).toEqual(['alive-job', 'not-ours', 'other-namespace']);
    expect(
      api
        .secrets()
        .map(s => s.metadata!.name)
        .sort(),
    ).toEqual(['alive-secret', 'not-ours']);
    expect(asked.sort()).toEqual(['alive', 'dead']);
  });

  it('says which cluster and namespace it runs on', () => {
    expect(executor().description).toBe(
      `kubernetes (${api.url}, namespace release)`,
    );
  });
});
