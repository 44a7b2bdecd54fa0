import {
  KubeConfig,
  V1ContainerState,
  V1Job,
  V1ObjectMeta,
  V1Pod,
  V1PodCondition,
  V1Secret,
  V1Status,
} from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';

/** One request the server answered, as it came. */
export type RecordedRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
};

type Kind = 'jobs' | 'secrets' | 'pods';
type KubeObject = { metadata?: V1ObjectMeta };
type WatchEvent = {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: Kind;
  namespace: string;
  object: KubeObject;
  resourceVersion: number;
};

type Watcher = {
  kind: Kind;
  namespace: string;
  selector: string | null;
  response: http.ServerResponse;
};

type LogLine = { time: string; text: string };

type LogFollower = {
  pod: SimulatedPod;
  since: number;
  response: http.ServerResponse;
  sent: number;
};

const CONTAINER_RUNNING = (): V1ContainerState => ({
  running: { startedAt: new Date() },
});

/**
 * A pod of a Job the server created, whose life the test drives: it
 * starts Pending, and moves only when the test says so.
 */
export class SimulatedPod {
  readonly lines: LogLine[] = [];
  /** Set once the pod was deleted. */
  deleted = false;

  constructor(private readonly api: FakeKubernetesApi, readonly pod: V1Pod) {}

  get name(): string {
    return this.pod.metadata!.name!;
  }

  /** The container waits (`ContainerCreating`, `ImagePullBackOff`, ...). */
  waiting(reason: string, message?: string): this {
    return this.setContainerState({ waiting: { reason, message } }, 'Pending');
  }

  /** The scheduler cannot place the pod. */
  unschedulable(message: string): this {
    const condition: V1PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
    };
    this.pod.status = { ...this.pod.status, conditions: [condition] };
    this.api.modified('pods', this.pod);
    return this;
  }

  running(): this {
    return this.setContainerState(CONTAINER_RUNNING(), 'Running');
  }

  /**
   * The command writes lines; each gets a timestamp one millisecond after
   * the previous one, so that many share a second, as on a busy pod.
   */
  write(...texts: string[]): this {
    for (const text of texts) {
      this.lines.push({ time: this.api.nextLogTime(), text });
    }
    this.api.logsChanged(this);
    return this;
  }

  /** Lines that all carry one same timestamp, as a fast writer's may. */
  writeTogether(...texts: string[]): this {
    const time = this.api.nextLogTime();
    for (const text of texts) this.lines.push({ time, text });
    this.api.logsChanged(this);
    return this;
  }

  /** The container ends; `reason` as the kubelet says (`Completed`, `Error`, `OOMKilled`). */
  terminate(exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error') {
    this.setContainerState(
      {
        terminated: {
          exitCode,
          reason,
          startedAt: new Date(),
          finishedAt: new Date(),
        },
      },
      exitCode === 0 ? 'Succeeded' : 'Failed',
    );
    this.api.logsChanged(this);
    return this;
  }

  get terminated(): boolean {
    return !!this.pod.status?.containerStatuses?.[0]?.state?.terminated;
  }

  get started(): boolean {
    const state = this.pod.status?.containerStatuses?.[0]?.state;
    return !!(state?.running || state?.terminated);
  }

  private setContainerState(state: V1ContainerState, phase: string): this {
    const container = this.pod.spec!.containers[0];
    this.pod.status = {
      ...this.pod.status,
      phase,
      containerStatuses: [
        {
          name: container.name,
          image: container.image!,
          imageID: '',
          ready: !!state.running,
          restartCount: 0,
          state,
        },
      ],
    };
    this.api.modified('pods', this.pod);
    return this;
  }
}

/**
 * A local HTTP server speaking the part of the Kubernetes API the
 * executor uses: Jobs, Secrets and Pods with label selectors,
 * `generateName`, watches from a `resourceVersion`, and pod logs with
 * `follow`, `timestamps` and `sinceTime`. Creating a Job creates its pod;
 * the test drives the pod. Deleting a Job deletes its pod (the container
 * ends with 143, as after SIGTERM), and Secrets whose owners are all gone
 * are deleted as the garbage collector would.
 */
export class FakeKubernetesApi {
  readonly requests: RecordedRequest[] = [];
  readonly pods: SimulatedPod[] = [];
  /** Ends each log follow after this many lines, as a flaky connection does. */
  cutLogFollowsAfterLines: number | undefined;
  /** Ends each watch after this many events, as the server's timeout does. */
  endWatchesAfterEvents: number | undefined;
  /**
   * Answers this many of the next watches from a `resourceVersion` with an
   * ERROR event of code 410 (the version is too old, as after a compaction)
   * and ends them.
   */
  expireNextWatches = 0;

  private failing = false;

  private readonly objects = {
    jobs: new Map<string, KubeObject>(),
    secrets: new Map<string, KubeObject>(),
    pods: new Map<string, KubeObject>(),
  };
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<Watcher & { sent: number }>();
  private readonly followers = new Set<LogFollower>();
  private readonly podWaiters: Array<() => void> = [];
  private resourceVersion = 1;
  private logClock = Date.parse('2026-01-01T00:00:00Z');
  private server: http.Server | undefined;

  static async start(): Promise<FakeKubernetesApi> {
    const api = new FakeKubernetesApi();
    api.server = http.createServer((req, res) => {
      api.handle(req, res).catch(error => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    await new Promise<void>(resolve =>
      api.server!.listen(0, '127.0.0.1', resolve),
    );
    return api;
  }

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** A client configuration that points at this server. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** From now on every request fails with 503, and open streams end. */
  failEverything() {
    this.failing = true;
    for (const watcher of this.watchers) watcher.response.end();
    for (const follower of this.followers) follower.response.end();
    this.watchers.clear();
    this.followers.clear();
  }

  async stop(): Promise<void> {
    for (const watcher of this.watchers) watcher.response.destroy();
    for (const follower of this.followers) follower.response.destroy();
    this.server?.closeAllConnections();
    await new Promise(resolve => this.server?.close(resolve));
  }

  /** The `index`th pod created (0 first), once it exists. */
  async pod(index: number): Promise<SimulatedPod> {
    while (this.pods.length <= index) {
      await new Promise<void>(resolve => this.podWaiters.push(resolve));
    }
    return this.pods[index];
  }

  jobs(): V1Job[] {
    return [...this.objects.jobs.values()] as V1Job[];
  }

  secrets(): V1Secret[] {
    return [...this.objects.secrets.values()] as V1Secret[];
  }

  /** Puts an object in place as if someone else had created it. */
  seed(kind: 'jobs' | 'secrets', namespace: string, object: KubeObject) {
    this.store(kind, namespace, object);
  }

  requestsFor(method: string, pathPattern: RegExp): RecordedRequest[] {
    return this.requests.filter(
      r => r.method === method && pathPattern.test(r.path),
    );
  }

  /** Resolves once `condition` holds, checked after every request and change. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      await new Promise(resolve => setTimeout(resolve, 5));
    }
  }

  nextLogTime(): string {
    this.logClock += 1;
    const iso = new Date(this.logClock).toISOString();
    // RFC 3339 with nanoseconds, as the kubelet writes it.
    return `${iso.slice(0, 23)}000000Z`;
  }

  modified(kind: Kind, object: KubeObject) {
    const meta = object.metadata!;
    this.bump(meta);
    this.emit('MODIFIED', kind, meta.namespace!, object);
  }

  logsChanged(pod: SimulatedPod) {
    for (const follower of this.followers) {
      if (follower.pod === pod) this.pumpLogs(follower);
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url!, 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? JSON.parse(text) : undefined;
    this.requests.push({
      method: req.method!,
      path: url.pathname,
      query: url.searchParams,
      body,
    });
    if (this.failing) {
      this.status(res, 503, 'ServiceUnavailable', 'the API server is down');
      return;
    }
    const route =
      /^\/(?:apis\/batch\/v1|api\/v1)\/namespaces\/([^/]+)\/(jobs|secrets|pods)(?:\/([^/]+))?(\/log)?$/.exec(
        url.pathname,
      );
    if (!route) {
      this.status(res, 404, 'NotFound', `no route for ${url.pathname}`);
      return;
    }
    const [, namespace, kind, name, log] = route as unknown as [
      string,
      string,
      Kind,
      string | undefined,
      string | undefined,
    ];
    const query = url.searchParams;
    if (log) {
      this.handleLog(res, namespace, name!, query);
    } else if (!name && req.method === 'GET' && query.get('watch') === 'true') {
      this.handleWatch(res, kind, namespace, query);
    } else if (!name && req.method === 'GET') {
      this.json(res, 200, {
        kind: 'List',
        metadata: { resourceVersion: String(this.resourceVersion) },
        items: this.list(kind, namespace, query.get('labelSelector')),
      });
    } else if (!name && req.method === 'POST') {
      this.handleCreate(res, kind, namespace, body);
    } else if (name && req.method === 'GET') {
      const object = this.objects[kind].get(key(namespace, name));
      if (object) this.json(res, 200, object);
      else this.notFound(res, kind, name);
    } else if (name && req.method === 'PUT') {
      this.handleReplace(res, kind, namespace, name, body);
    } else if (name && req.method === 'DELETE') {
      this.handleDelete(res, kind, namespace, name);
    } else {
      this.status(res, 405, 'MethodNotAllowed', `${req.method} not served`);
    }
    // Lets `until` see what this request did.
    await new Promise(resolve => setImmediate(resolve));
  }

  private handleCreate(
    res: http.ServerResponse,
    kind: Kind,
    namespace: string,
    object: KubeObject,
  ) {
    const meta = object.metadata ?? {};
    const name = meta.name ?? `${meta.generateName ?? ''}${suffix()}`;
    if (this.objects[kind].has(key(namespace, name))) {
      this.status(
        res,
        409,
        'AlreadyExists',
        `${kind} "${name}" already exists`,
      );
      return;
    }
    const created = this.store(kind, namespace, {
      ...object,
      metadata: { ...meta, name },
    });
    if (kind === 'jobs') this.startPod(created as V1Job);
    this.json(res, 201, created);
  }

  private handleReplace(
    res: http.ServerResponse,
    kind: Kind,
    namespace: string,
    name: string,
    object: KubeObject,
  ) {
    const current = this.objects[kind].get(key(namespace, name));
    if (!current) {
      this.notFound(res, kind, name);
      return;
    }
    const wanted = object.metadata?.resourceVersion;
    if (wanted && wanted !== current.metadata!.resourceVersion) {
      this.status(res, 409, 'Conflict', `${kind} "${name}" was modified`);
      return;
    }
    const replaced: KubeObject = {
      ...object,
      metadata: { ...object.metadata, ...pick(current.metadata!) },
    };
    this.objects[kind].set(key(namespace, name), replaced);
    this.modified(kind, replaced);
    this.json(res, 200, replaced);
  }

  private handleDelete(
    res: http.ServerResponse,
    kind: Kind,
    namespace: string,
    name: string,
  ) {
    const object = this.objects[kind].get(key(namespace, name));
    if (!object) {
      this.notFound(res, kind, name);
      return;
    }
    this.remove(kind, object);
    if (kind === 'jobs') {
      for (const pod of this.pods) {
        const owner = pod.pod.metadata!.ownerReferences?.[0];
        if (owner?.uid === object.metadata!.uid && !pod.deleted) {
          // As after SIGTERM; a pod that never started just goes.
          if (pod.started && !pod.terminated) pod.terminate(143, 'Error');
          pod.deleted = true;
          this.remove('pods', pod.pod);
          this.logsChanged(pod);
        }
      }
      this.collectGarbage();
    }
    this.json(res, 200, {
      kind: 'Status',
      status: 'Success',
    } satisfies V1Status);
  }

  private handleWatch(
    res: http.ServerResponse,
    kind: Kind,
    namespace: string,
    query: URLSearchParams,
  ) {
    res.writeHead(200, { 'content-type': 'application/json' });
    const watcher = {
      kind,
      namespace,
      selector: query.get('labelSelector'),
      response: res,
      sent: 0,
    };
    if (this.expireNextWatches > 0 && query.get('resourceVersion')) {
      this.expireNextWatches -= 1;
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
        message: `too old resource version: ${query.get('resourceVersion')}`,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
    const since = Number(query.get('resourceVersion') ?? this.resourceVersion);
    for (const event of this.history) {
      if (event.resourceVersion > since) this.send(watcher, event);
    }
  }

  private handleLog(
    res: http.ServerResponse,
    namespace: string,
    name: string,
    query: URLSearchParams,
  ) {
    const pod = this.pods.find(
      p => p.name === name && p.pod.metadata!.namespace === namespace,
    );
    if (!pod || pod.deleted) {
      this.notFound(res, 'pods', name);
      return;
    }
    if (!pod.started) {
      this.status(
        res,
        400,
        'BadRequest',
        `container "step" in pod "${name}" is waiting to start`,
      );
      return;
    }
    const sinceTime = query.get('sinceTime');
    // The API reads sinceTime to the second, so a resumed read repeats the
    // lines of that second: the reader must drop those it already has.
    const since = sinceTime
      ? Math.floor(Date.parse(sinceTime) / 1000) * 1000
      : 0;
    res.writeHead(200, { 'content-type': 'text/plain' });
    const follower = { pod, since, response: res, sent: 0 };
    if (query.get('follow') !== 'true') {
      res.end(this.logText(follower, query, Infinity));
      return;
    }
    this.followers.add(follower);
    res.on('close', () => this.followers.delete(follower));
    this.pumpLogs(follower);
  }

  private pumpLogs(follower: LogFollower) {
    const { response } = follower;
    const cut = this.cutLogFollowsAfterLines;
    const limit = cut === undefined ? Infinity : cut - follower.sent;
    const text = this.logText(follower, undefined, limit);
    if (text) response.write(text);
    const ended =
      (cut !== undefined && follower.sent >= cut) ||
      (follower.pod.terminated && this.pendingLines(follower).length === 0);
    if (ended) {
      this.followers.delete(follower);
      response.end();
    }
  }

  private pendingLines(follower: LogFollower): LogLine[] {
    return follower.pod.lines
      .filter(line => Date.parse(line.time) >= follower.since)
      .slice(follower.sent);
  }

  private logText(
    follower: LogFollower,
    query: URLSearchParams | undefined,
    limit: number,
  ): string {
    const timestamps = (query?.get('timestamps') ?? 'true') === 'true';
    const lines = this.pendingLines(follower).slice(0, limit);
    follower.sent += lines.length;
    return lines
      .map(line => `${timestamps ? `${line.time} ` : ''}${line.text}\n`)
      .join('');
  }

  private startPod(job: V1Job) {
    const template = job.spec!.template;
    const meta = job.metadata!;
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...template.metadata,
        name: `${meta.name}-${suffix()}`,
        labels: {
          ...template.metadata?.labels,
          'controller-uid': meta.uid!,
          'batch.kubernetes.io/controller-uid': meta.uid!,
          'job-name': meta.name!,
          'batch.kubernetes.io/job-name': meta.name!,
        },
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: meta.name!,
            uid: meta.uid!,
            controller: true,
          },
        ],
      },
      spec: template.spec,
      status: { phase: 'Pending' },
    };
    const stored = this.store('pods', meta.namespace!, pod) as V1Pod;
    this.pods.push(new SimulatedPod(this, stored));
    for (const wake of this.podWaiters.splice(0)) wake();
  }

  private store(kind: Kind, namespace: string, object: KubeObject) {
    const meta: V1ObjectMeta = {
      ...object.metadata,
      namespace,
      uid: object.metadata?.uid ?? randomUUID(),
      creationTimestamp: new Date(),
    };
    this.bump(meta);
    const stored = JSON.parse(JSON.stringify({ ...object, metadata: meta }));
    this.objects[kind].set(key(namespace, meta.name!), stored);
    this.emit('ADDED', kind, namespace, stored);
    return stored;
  }

  private remove(kind: Kind, object: KubeObject) {
    const meta = object.metadata!;
    this.objects[kind].delete(key(meta.namespace!, meta.name!));
    this.bump(meta);
    this.emit('DELETED', kind, meta.namespace!, object);
  }

  /** Deletes the Secrets whose owners are all gone. */
  private collectGarbage() {
    const uids = new Set(this.jobs().map(job => job.metadata!.uid));
    for (const secret of this.secrets()) {
      const owners = secret.metadata!.ownerReferences ?? [];
      if (owners.length > 0 && owners.every(owner => !uids.has(owner.uid))) {
        this.remove('secrets', secret);
      }
    }
  }

  private bump(meta: V1ObjectMeta) {
    this.resourceVersion += 1;
    meta.resourceVersion = String(this.resourceVersion);
  }

  private emit(
    type: WatchEvent['type'],
    kind: Kind,
    namespace: string,
    object: KubeObject,
  ) {
    const event: WatchEvent = {
      type,
      kind,
      namespace,
      object: JSON.parse(JSON.stringify(object)),
      resourceVersion: this.resourceVersion,
    };
    this.history.push(event);
    for (const watcher of this.watchers) this.send(watcher, event);
  }

  private send(watcher: Watcher & { sent: number }, event: WatchEvent) {
    if (
      !this.watchers.has(watcher) ||
      event.kind !== watcher.kind ||
      event.namespace !== watcher.namespace ||
      !matches(event.object.metadata?.labels, watcher.selector)
    ) {
      return;
    }
    watcher.response.write(
      `${JSON.stringify({ type: event.type, object: event.object })}\n`,
    );
    watcher.sent += 1;
    if (
      this.endWatchesAfterEvents !== undefined &&
      watcher.sent >= this.endWatchesAfterEvents
    ) {
      this.watchers.delete(watcher);
      watcher.response.end();
    }
  }

  private list(kind: Kind, namespace: string, selector: string | null) {
    return [...this.objects[kind].values()].filter(
      object =>
        object.metadata!.namespace === namespace &&
        matches(object.metadata!.labels, selector),
    );
  }

  private notFound(res: http.ServerResponse, kind: Kind, name: string) {
    this.status(res, 404, 'NotFound', `${kind} "${name}" not found`);
  }

  private status(
    res: http.ServerResponse,
    code: number,
    reason: string,
    message: string,
  ) {
    this.json(res, code, {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message,
      reason,
      code,
    } satisfies V1Status);
  }

  private json(res: http.ServerResponse, code: number, body: unknown) {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

function key(namespace: string, name: string) {
  return `${namespace}/${name}`;
}

function suffix() {
  return Math.random().toString(36).slice(2, 7);
}

/** What a replace keeps of the stored object's metadata. */
function pick(meta: V1ObjectMeta): V1ObjectMeta {
  return {
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    creationTimestamp: meta.creationTimestamp,
  };
}

/** Equality, inequality and existence requirements, comma-separated. */
function matches(
  labels: Record<string, string> | undefined,
  selector: string | null,
): boolean {
  if (!selector) return true;
  return selector.split(',').every(requirement => {
    const [, name, op, value] = /^([^!=]+)(!=|==|=)?(.*)$/.exec(
      requirement.trim(),
    )!;
    const actual = labels?.[name];
    if (!op) return actual !== undefined;
    return op === '!=' ? actual !== value : actual === value;
  });
}
