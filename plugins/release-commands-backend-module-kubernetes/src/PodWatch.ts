import { CoreV1Api, KubeConfig, V1Pod, Watch } from '@kubernetes/client-node';

/** How long to wait before watching again after a watch failed. */
const REWATCH_BACKOFF_MS = 500;

/**
 * The latest state of the pod a Job made, kept up to date by a watch that
 * is established again from the last `resourceVersion` it saw whenever the
 * server ends it (watches time out) or it fails, and after a full list when
 * that version is too old (410 Gone).
 */
export class PodWatch {
  /** The pod as last seen; undefined until it exists. */
  pod: V1Pod | undefined;
  /** True once the pod was seen deleted. */
  gone = false;
  /** Since when listing and watching have failed without a success between; with the last error. */
  failing: { since: number; error: unknown } | undefined;

  private resourceVersion: string | undefined;
  private stopped = false;
  private abort: AbortController | undefined;
  private listeners = new Set<() => void>();
  private backoff: NodeJS.Timeout | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly core: CoreV1Api,
    private readonly namespace: string,
    private readonly labelSelector: string,
  ) {}

  start(): void {
    this.relist();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.backoff);
    this.abort?.abort();
    this.changed();
  }

  /**
   * Resolves with what `check` returns once it returns something, checked
   * now and after each change; rejects when `signal` aborts.
   */
  until<T>(check: () => T | undefined, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const settle = (outcome: () => void) => {
        this.listeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      function onAbort() {
        settle(() => reject(signal!.reason));
      }
      function listener() {
        let value: T | undefined;
        try {
          value = check();
        } catch (error) {
          settle(() => reject(error));
          return;
        }
        if (value !== undefined) settle(() => resolve(value));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.listeners.add(listener);
      listener();
    });
  }

  /** Resolves at the next change, or after `ms` whatever happens. */
  nextChange(ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(done, ms).unref();
      const listeners = this.listeners;
      function done() {
        clearTimeout(timer);
        listeners.delete(done);
        resolve();
      }
      listeners.add(done);
    });
  }

  /** Runs the waiting checks again, for those that depend on the time. */
  changed() {
    for (const listener of [...this.listeners]) listener();
  }

  private async relist() {
    if (this.stopped) return;
    try {
      const list = await this.core.listNamespacedPod({
        namespace: this.namespace,
        labelSelector: this.labelSelector,
      });
      this.failing = undefined;
      this.resourceVersion = list.metadata?.resourceVersion;
      const [pod] = list.items;
      if (pod) this.pod = pod;
      else if (this.pod) this.gone = true;
      this.changed();
      await this.watch();
    } catch (error) {
      this.failed(error, () => this.relist());
    }
  }

  private async watch() {
    if (this.stopped) return;
    let tooOld = false;
    const abort = await new Watch(this.kc).watch(
      `/api/v1/namespaces/${this.namespace}/pods`,
      {
        labelSelector: this.labelSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
      },
      (type: string, object: V1Pod) => {
        if (type === 'ERROR') {
          tooOld = (object as { code?: number }).code === 410;
          return;
        }
        this.resourceVersion =
          object.metadata?.resourceVersion ?? this.resourceVersion;
        this.failing = undefined;
        if (type === 'BOOKMARK') return;
        if (type === 'DELETED') this.gone = true;
        else this.pod = object;
        this.changed();
      },
      (error: unknown) => {
        if (this.stopped) return;
        if (tooOld) {
          this.relist();
        } else if (error) {
          this.failed(error, () => this.watch());
        } else {
          // The server ended the watch, as it does after its timeout.
          this.watch().catch(e => this.failed(e, () => this.watch()));
        }
      },
    );
    // Stopped while the watch was being opened.
    if (this.stopped) abort.abort();
    else this.abort = abort;
  }

  /** Tries again after a while, telling the waiting checks each time. */
  private failed(error: unknown, again: () => Promise<void>) {
    if (this.stopped) return;
    this.failing = { since: this.failing?.since ?? Date.now(), error };
    this.changed();
    this.backoff = setTimeout(() => {
      again().catch(e => this.failed(e, again));
    }, REWATCH_BACKOFF_MS);
  }
}
