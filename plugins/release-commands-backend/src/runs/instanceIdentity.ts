import { randomBytes } from 'node:crypto';
import os from 'node:os';

// Instances alive in this process: tests (and some set-ups) run several
// backends side by side in one process.
const liveInThisProcess = new Set<string>();

/**
 * A name for this backend instance, recorded as the owner of the runs it
 * executes: host, process id, and a nonce that tells apart two processes that
 * got the same process id (a restarted container is usually PID 1 again).
 */
export function createInstanceId(): string {
  const id = `${os.hostname()}:${process.pid}:${randomBytes(4).toString(
    'hex',
  )}`;
  liveInThisProcess.add(id);
  return id;
}

export function releaseInstanceId(id: string) {
  liveInThisProcess.delete(id);
}

/**
 * Whether an instance is certainly gone: it ran on this host and its process
 * no longer exists (or was an earlier process with our id). Instances on
 * other hosts cannot be checked; their heartbeat tells.
 */
export function isInstanceGone(id: string): boolean {
  const [host, pidText] = id.split(':');
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) {
    return false;
  }
  if (pid === process.pid) return !liveInThisProcess.has(id);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
