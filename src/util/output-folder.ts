/**
 * Output folders checked before any work starts: created if missing and proven writable with a probe file, so a
 * bad `--out` fails in the first second instead of after training.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * Creates `dir` and its missing parents one level at a time. Node's recursive mkdir loops forever on file systems
 * that refuse new entries with ENOENT (it retries the parent, which exists), e.g. /proc; one call per level fails.
 */
function createFolders(dir: string, shown: string): void {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new Error(`cannot create the folder ${shown}: ${at} is not accessible (${code}); choose another --out`);
      }
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
      continue;
    }
    if (!isDir) throw new Error(`cannot create the folder ${shown}: ${at} is a file, not a folder; choose another --out`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'EEXIST' && statSync(d).isDirectory()) continue;
      throw new Error(`cannot create the folder ${shown} (${code} at ${d}); choose another --out`);
    }
  }
}

/**
 * Makes sure `dir` exists and files can be written in it (a probe file is created and removed); throws one clear
 * line otherwise.
 * @example prepareOutputFolder('runs/fmnist-mini-b5-p5-spb-s1');
 */
export function prepareOutputFolder(dir: string): void {
  createFolders(dir, dir);
  const probe = resolve(dir, `.onnx-cil-write-test-${process.pid}`);
  try {
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, 'ok');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new Error(`cannot write into ${dir} (${errorCode(err)}); choose another --out`);
  } finally {
    try {
      unlinkSync(probe);
    } catch {
      // never created
    }
  }
}

/** Files that show a run folder holds the results of a run (a model or metrics), not just a started one. */
const RESULT_FILE = /^(checkpoint\.onnx|phase-\d+\.onnx|metrics\.json)$/;
/** Every file a `train` or `run` job writes into its folder (checkpoints with their resume-state companions). */
const RUN_FILE = /^(config\.json|(checkpoint|phase-\d+)\.onnx(\.[A-Za-z0-9_]+-[0-9a-f]{16}\.bin)?|metrics\.json|metrics\.csv|report\.html)$/;

function listFiles(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort();
}

/**
 * The result files (checkpoints, metrics) of a run in `dir`; empty when it holds none.
 * @example runOutputsIn('runs/train'); // ['checkpoint.onnx', 'metrics.json']
 */
export function runOutputsIn(dir: string): string[] {
  return listFiles(dir, RESULT_FILE);
}

/**
 * Removes the files a `train` or `run` job wrote into `dir` (what `--force` replaces); other files stay.
 * @example removeRunOutputs('runs/train');
 */
export function removeRunOutputs(dir: string): void {
  for (const f of listFiles(dir, RUN_FILE)) rmSync(join(dir, f), { force: true });
}
