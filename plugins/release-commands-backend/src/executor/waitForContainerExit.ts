import Docker from 'dockerode';
import { setTimeout as delay } from 'node:timers/promises';
import { DockerEngine, isRefusal } from './DockerEngine';

/** How often a running step checks that the engine still answers. */
export const ENGINE_CHECK_INTERVAL_MS = 2000;

/** How a container's wait ended. */
export type ContainerExit = {
  /** What the engine's wait answered, when it did: the exit code's fallback. */
  statusCode?: number;
};

/**
 * Waits for a started container to exit. The engine's wait is the quick
 * signal; an inspect every few seconds is the safety net, since dockerode's
 * wait never settles when its connection drops after the engine answered the
 * headers (an engine restart, a network failure to a remote engine). A
 * failed wait, or a failed inspect, is not the end: only `attempts` failed
 * inspects in a row are, or the engine saying the container is gone, and
 * then that failure is thrown.
 */
export async function waitForContainerExit(
  engine: DockerEngine,
  container: Docker.Container,
  options: { checkIntervalMs?: number } = {},
): Promise<ContainerExit> {
  const exit: ContainerExit = {};
  const watchdog = new AbortController();
  const waited = container.wait().then(
    (answer: { StatusCode?: number }) => {
      if (typeof answer?.StatusCode === 'number') {
        exit.statusCode = answer.StatusCode;
      }
    },
    // Broken: the inspects tell when the container stops, or that the
    // engine is gone.
    () => new Promise<void>(() => {}),
  );
  try {
    await Promise.race([
      waited,
      pollUntilStopped(engine, container, {
        intervalMs: options.checkIntervalMs ?? ENGINE_CHECK_INTERVAL_MS,
        signal: watchdog.signal,
      }),
    ]);
    return exit;
  } finally {
    watchdog.abort();
  }
}

async function pollUntilStopped(
  engine: DockerEngine,
  container: Docker.Container,
  options: { intervalMs: number; signal: AbortSignal },
): Promise<void> {
  const { intervalMs, signal } = options;
  let failures = 0;
  for (;;) {
    // Aborted once the wait has answered: the delay rejects, the loop ends.
    await delay(intervalMs, undefined, { signal }).catch(() => {});
    if (signal.aborted) return;
    try {
      const { State } = await engine.call(abortSignal =>
        container.inspect({ abortSignal }),
      );
      if (!State.Running) return;
      failures = 0;
    } catch (error) {
      failures++;
      if (failures >= engine.tolerance.attempts || isRefusal(error)) {
        throw error;
      }
    }
  }
}
