import { EventEmitter } from 'node:events';

/**
 * Wakes the readers of a run's log in this process when something new was
 * written. Readers also poll, for runs written by another replica.
 */
export class RunEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per follower; many followers of one run are normal.
    this.emitter.setMaxListeners(0);
  }

  notify(runId: string) {
    this.emitter.emit(runId);
  }

  /** Resolves at the next notification for the run, or after `timeoutMs`. */
  wait(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise(resolve => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(runId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      timer = setTimeout(done, timeoutMs);
      this.emitter.on(runId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
