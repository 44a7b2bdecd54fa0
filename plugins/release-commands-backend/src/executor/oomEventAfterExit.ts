import Docker from 'dockerode';
import { DockerEngine } from './DockerEngine';

/**
 * How long after a container's exit its `oom` event may still come. On
 * Docker 20.10 with cgroup v1 it was seen up to 0.2 s after the exit under
 * load, and then `State.OOMKilled` is false.
 */
export const OOM_EVENT_GRACE_MS = 3000;

/**
 * Whether the engine sent an `oom` event for a container that exited, up to
 * `graceMs` after the exit: when the engine learns of the kill only after
 * the exit, `State.OOMKilled` stays false and that event is all it says.
 * Asked from a little before the exit to that much after it, the engine
 * replays the events it keeps and closes the stream at the end of that
 * window.
 *
 * False when the engine says nothing, or cannot be asked.
 */
export async function oomEventAfterExit(
  engine: DockerEngine,
  container: Docker.Container,
  state: Docker.ContainerInspectInfo['State'],
  graceMs = OOM_EVENT_GRACE_MS,
): Promise<boolean> {
  // The engine's clock, both ends.
  const exitedAt = Date.parse(state.FinishedAt) / 1000;
  if (!Number.isFinite(exitedAt)) return false;
  let events: NodeJS.ReadableStream;
  try {
    events = await engine.call(abortSignal =>
      engine.docker.getEvents({
        since: Math.floor(exitedAt - 10),
        until: Math.ceil(exitedAt + graceMs / 1000),
        filters: { container: [container.id], event: ['oom'] },
        abortSignal,
      } as Parameters<Docker['getEvents']>[0]),
    );
  } catch {
    return false;
  }
  return new Promise<boolean>(resolve => {
    // No more than the window, whatever the engine's clock says.
    const timer = setTimeout(done, graceMs + engine.tolerance.callTimeoutMs);
    function done(oom = false) {
      clearTimeout(timer);
      resolve(oom);
      (events as NodeJS.ReadableStream & { destroy(): void }).destroy();
    }
    // The filter lets only this container's `oom` events through.
    events.on('data', () => done(true));
    events.on('end', () => done());
    events.on('error', () => done());
  });
}
