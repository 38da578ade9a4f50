/** Finds the checkpoint a command means when it is given a run folder instead of a file. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpoint } from '../train/checkpoint.js';
import { readFileSync } from 'node:fs';

/** Sub-folders of a run folder that may hold per-phase checkpoints. */
const CHECKPOINT_FOLDERS = ['', 'checkpoints', 'phases'];

function phaseOf(meta: Record<string, unknown>): number {
  const p = meta['phase'];
  return typeof p === 'number' && Number.isFinite(p) ? p : -1;
}

/**
 * The checkpoint file for a path that is a checkpoint or a run folder. In a run folder, every `.onnx` file directly
 * inside it (or in `checkpoints/`, `phases/`) that is an onnx-cil checkpoint is a candidate (exported models are
 * skipped); the latest one wins: highest `phase` in its metadata (class-incremental runs), then
 * `checkpoint.onnx`, then the newest modification time.
 * @example const file = resolveCheckpointPath('runs/fmnist-b5-p5'); // runs/fmnist-b5-p5/phase-5.onnx
 */
export function resolveCheckpointPath(pathOrRun: string): string {
  if (!existsSync(pathOrRun)) throw new Error(`${pathOrRun} does not exist (expected a checkpoint .onnx file or a run folder)`);
  if (!statSync(pathOrRun).isDirectory()) return pathOrRun;
  const candidates: { path: string; phase: number; named: boolean; mtime: number }[] = [];
  for (const sub of CHECKPOINT_FOLDERS) {
    const dir = join(pathOrRun, sub);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.onnx')) continue;
      const path = join(dir, name);
      if (!statSync(path).isFile()) continue;
      let meta: Record<string, unknown>;
      try {
        meta = decodeCheckpoint(readFileSync(path), path).meta as Record<string, unknown>;
      } catch {
        continue; // an exported model or a foreign file
      }
      candidates.push({ path, phase: phaseOf(meta), named: name === 'checkpoint.onnx', mtime: statSync(path).mtimeMs });
    }
  }
  if (candidates.length === 0) throw new Error(`the run folder ${pathOrRun} holds no onnx-cil checkpoint`);
  candidates.sort((a, b) => b.phase - a.phase || Number(b.named) - Number(a.named) || b.mtime - a.mtime);
  return candidates[0]!.path;
}
