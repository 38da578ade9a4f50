/** Finds the checkpoint a command means when it is given a run folder instead of a file. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { resolveCheckpointPath as latestPhaseCheckpoint } from '../cil/checkpoint.js';
import { loadCheckpoint, type CheckpointContents } from '../train/checkpoint.js';

/**
 * The checkpoint file for a path that is a checkpoint or a run folder. In a run folder: the highest-numbered
 * `phase-N.onnx` (a class-incremental run; its `checkpoint.onnx` may be mid-phase), else `checkpoint.onnx`
 * (a `train` run, written after every epoch, final when the run finished).
 * @example resolveCheckpointPath('runs/fmnist-b5-p5'); // 'runs/fmnist-b5-p5/phase-5.onnx'
 */
export function resolveCheckpointPath(pathOrRun: string): string {
  if (!existsSync(pathOrRun)) throw new Error(`${pathOrRun} does not exist (expected a checkpoint .onnx file or a run folder)`);
  if (!statSync(pathOrRun).isDirectory()) return pathOrRun;
  if (readdirSync(pathOrRun).some((f) => /^phase-\d+\.onnx$/.test(f))) return latestPhaseCheckpoint(pathOrRun);
  const single = join(pathOrRun, 'checkpoint.onnx');
  if (existsSync(single)) return single;
  throw new Error(`the run folder ${pathOrRun} holds no checkpoint (phase-N.onnx or checkpoint.onnx)`);
}

/**
 * Test accuracy recorded in a checkpoint's metadata: `accuracy`, or the evaluation of its own phase (class-incremental
 * runs). A phase without its own evaluation (one added by `increment`, which has no test images of the new classes)
 * has no accuracy: an earlier phase's would describe another model.
 */
function accuracyInMeta(meta: Record<string, unknown>): number | undefined {
  if (typeof meta['accuracy'] === 'number') return meta['accuracy'];
  const evaluations = meta['evaluations'];
  if (Array.isArray(evaluations)) {
    const own = evaluations.find((e) => e?.phase === meta['phase']);
    if (typeof own?.accuracy === 'number') return own.accuracy;
  }
  return undefined;
}

/**
 * The checkpoint behind `--from` and the test accuracy its run recorded: from the checkpoint's metadata, else
 * (a `train` run's checkpoint.onnx) the `testAccuracy` of the run folder's metrics.json.
 * @example const { checkpoint, accuracy } = loadExportSource('runs/x');
 */
export function loadExportSource(pathOrRun: string): { path: string; checkpoint: CheckpointContents<Record<string, unknown>>; accuracy?: number } {
  const path = resolveCheckpointPath(pathOrRun);
  const checkpoint = loadCheckpoint(path);
  const own = accuracyInMeta(checkpoint.meta);
  if (own !== undefined) return { path, checkpoint, accuracy: own };
  const metricsPath = join(dirname(path), 'metrics.json');
  if (basename(path) === 'checkpoint.onnx' && existsSync(metricsPath)) {
    try {
      const acc = (JSON.parse(readFileSync(metricsPath, 'utf8')) as Record<string, unknown>)['testAccuracy'];
      if (typeof acc === 'number' && Number.isFinite(acc)) return { path, checkpoint, accuracy: acc };
    } catch {
      // unreadable metrics: export without an accuracy
    }
  }
  return { path, checkpoint };
}
