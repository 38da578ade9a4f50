/**
 * Crash-safe file writes: a reader sees the old file or the complete new one, never a torn write, and a failed
 * write leaves no temporary file behind. Temporary files are named `<target>.tmp-<pid>`, so the ones a killed
 * process left can be told from those of a live writer and removed.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processIsAlive } from './process.js';

/** Suffix pattern of temporary files: `.tmp-<pid>`. */
const TEMP_SUFFIX = /\.tmp-(\d+)$/;

/**
 * The temporary file `writeFileAtomic` uses for `path` in this process.
 * @example temporaryPathFor('runs/a/checkpoint.onnx'); // 'runs/a/checkpoint.onnx.tmp-4242'
 */
export function temporaryPathFor(path: string, pid = process.pid): string {
  return `${path}.tmp-${pid}`;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or never created
  }
}

/**
 * Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over `path`. Any failure
 * (a full disk in the middle of the write, a failed flush or rename) removes the temporary file before the error
 * propagates, so `path` keeps its old content and nothing partial remains.
 * @example writeFileAtomic('runs/a/checkpoint.onnx', bytes);
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = temporaryPathFor(path);
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const fd = openSync(tmp, 'w');
  let renamed = false;
  try {
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) removeQuietly(tmp);
  }
  try {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Directory fsync is not supported everywhere; the rename itself is still atomic.
  }
}

/**
 * Removes the temporary files in `dir` that processes which no longer run left behind (killed mid-write). Files of
 * live processes are kept: they may be writing right now. `target` limits the sweep to one output file's
 * temporaries (for folders that are not onnx-cil's own, such as the folder an exported model goes to).
 * Returns the removed file names.
 * @example removeStaleTemporaryFiles('runs/fmnist-mini-b5-p5-spb-s1'); // ['checkpoint.onnx.tmp-31337']
 */
export function removeStaleTemporaryFiles(dir: string, target?: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_SUFFIX.exec(name);
    if (!m) continue;
    if (target !== undefined && name !== `${basename(target)}${m[0]}`) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processIsAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // removed by someone else meanwhile
    }
  }
  return removed;
}
