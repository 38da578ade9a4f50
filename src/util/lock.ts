/**
 * Output-folder locks: one onnx-cil process at a time writes into a run folder. The lock is a file created with
 * O_EXCL (so two processes cannot both create it) holding the owner's pid and host. A lock whose process is gone
 * (killed with SIGKILL, machine restarted) is recognised as stale and taken over; a held lock is released when its
 * owner finishes, fails, exits, or is stopped with SIGINT, SIGTERM or SIGHUP.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processIsAlive } from './process.js';

/** Name of the lock file inside a locked folder. */
export const LOCK_FILE = '.onnx-cil.lock';

/** A lock file whose content cannot be read is taken as still being written for this long, then as stale. */
const UNREADABLE_GRACE_MS = 10_000;

interface LockOwner {
  pid: number;
  host: string;
  /** What the owner is doing, for the message another process prints. */
  purpose: string;
  since: string;
}

/** A held folder lock. */
export interface FolderLock {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file (once; later calls do nothing). */
  release(): void;
}

/** Locks this process holds, by lock-file path, with the content it wrote (to never remove another's lock). */
const held = new Map<string, string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function releaseAll(): void {
  for (const path of [...held.keys()]) releasePath(path);
}

function onSignal(signal: NodeJS.Signals): void {
  releaseAll();
  // Re-raise with the default action (exit status 128 + signal number) unless the program handles it itself.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  process.on('exit', releaseAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function removeHandlers(): void {
  process.off('exit', releaseAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

function releasePath(path: string): void {
  const content = held.get(path);
  if (content === undefined) return;
  held.delete(path);
  if (held.size === 0) removeHandlers();
  try {
    // Remove only our own lock: a stale-lock takeover by another process must not be undone.
    if (readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    // already gone
  }
}

function readRaw(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function parseOwner(raw: string | null): LockOwner | null {
  try {
    const owner = JSON.parse(raw ?? '') as LockOwner;
    return Number.isSafeInteger(owner.pid) && typeof owner.host === 'string' ? owner : null;
  } catch {
    return null;
  }
}

/** Why an existing lock no longer protects anything, or null when its owner may still be running. */
function staleReason(path: string, owner: LockOwner | null): string | null {
  if (!owner) {
    let age = 0;
    try {
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      return 'it disappeared';
    }
    return age > UNREADABLE_GRACE_MS ? 'it is unreadable' : null;
  }
  if (owner.host !== hostname()) return null;
  if (owner.pid === process.pid) return held.has(path) ? null : 'an earlier process with this process id left it';
  return processIsAlive(owner.pid) ? null : `process ${owner.pid} is gone`;
}

/**
 * Locks `dir` (which must exist) for this process, or throws a one-line error naming the process that holds it.
 * A stale lock (its process is gone) is removed and taken over; `onStale` hears about it.
 * @example
 * const lock = lockFolder('runs/a', 'run');
 * try { ... } finally { lock.release(); }
 */
export function lockFolder(dir: string, purpose: string, onStale?: (message: string) => void): FolderLock {
  const path = join(dir, LOCK_FILE);
  const content = `${JSON.stringify({ pid: process.pid, host: hostname(), purpose, since: new Date().toISOString() } satisfies LockOwner)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new Error(`cannot lock ${dir} (${code ?? (err as Error).message}); is the folder writable?`);
      const raw = readRaw(path);
      const owner = parseOwner(raw);
      const stale = staleReason(path, owner);
      if (stale === null) {
        const who = owner ? `process ${owner.pid} on ${owner.host} (${owner.purpose}, since ${owner.since})` : 'another process';
        throw new Error(`${dir} is in use by ${who}; wait for it to finish or choose another --out (if that process is gone, delete ${path})`);
      }
      // Remove it only if it is still the lock judged stale: another process may have taken it over meanwhile.
      if (readRaw(path) === raw) {
        try {
          unlinkSync(path);
          onStale?.(`removed a stale lock in ${dir} (${stale})`);
        } catch {
          // gone already; the next attempt creates ours
        }
      }
      continue;
    }
    try {
      const bytes = new TextEncoder().encode(content);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (err) {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // nothing to clean
      }
      throw new Error(`cannot lock ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    closeSync(fd);
    if (held.size === 0) installHandlers();
    held.set(path, content);
    return { path, release: () => releasePath(path) };
  }
  throw new Error(`cannot lock ${dir}: another process keeps replacing ${path}`);
}
