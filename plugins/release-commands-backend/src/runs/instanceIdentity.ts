import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';

// Instances alive in this process: tests (and some set-ups) run several
// backends side by side in one process.
const liveInThisProcess = new Set<string>();

/**
 * The pid namespace this process lives in, on this kernel: the namespace's
 * inode and the kernel's boot id (inodes repeat across hosts, the initial
 * namespace's nearly always). Empty where /proc does not tell.
 */
function readPidNamespace(): string {
  try {
    const inode = fs.readlinkSync('/proc/self/ns/pid').replace(/\D/g, '');
    const boot = fs
      .readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')
      .trim()
      .replace(/-/g, '')
      .slice(0, 12);
    return inode && boot ? `${boot}.${inode}` : '';
  } catch {
    return '';
  }
}

const pidNamespace = readPidNamespace();

/**
 * A name for this backend instance, recorded as the owner of the runs it
 * executes: host, process id, a nonce that tells apart two processes that
 * got the same process id (a restarted container is usually PID 1 again),
 * and the pid namespace in which that process id means something.
 */
export function createInstanceId(): string {
  const id = `${os.hostname()}:${process.pid}:${randomBytes(4).toString(
    'hex',
  )}:${pidNamespace}`;
  liveInThisProcess.add(id);
  return id;
}

export function releaseInstanceId(id: string) {
  liveInThisProcess.delete(id);
}

/**
 * Whether an instance is certainly gone: its process ran in this process's
 * pid namespace and no longer exists (or was an earlier process with our
 * id). A host name says nothing here: two containers with host networking,
 * or a fixed compose host name, share it across namespaces where the same
 * pid is another process. Other instances are judged by their heartbeat.
 */
export function isInstanceGone(id: string): boolean {
  const [, pidText, , namespace] = id.split(':');
  const pid = Number(pidText);
  if (
    !pidNamespace ||
    namespace !== pidNamespace ||
    !Number.isInteger(pid) ||
    pid <= 0
  ) {
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
