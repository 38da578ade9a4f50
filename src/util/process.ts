/** Facts about other processes on this machine. */
import { readFileSync } from 'node:fs';

/**
 * Whether a process with this id runs on this machine (signal 0 probes without sending anything). A zombie (exited,
 * not yet reaped by its parent, e.g. just after SIGKILL) does not count as running.
 * @example processIsAlive(process.pid); // true
 */
export function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** Linux only: state Z in /proc/<pid>/stat (the field after the parenthesised command name). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
