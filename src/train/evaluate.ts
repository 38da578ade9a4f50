/** Test-set evaluation with an EvalSession. */
import type { Tensor } from 'onnxruntime-common';
import { evalBatches } from '../data/batches.js';
import type { ImageDataset } from '../data/dataset.js';
import type { StateDict } from '../nn/params.js';
import type { EvalSession } from './session.js';

export interface Predictions {
  /** Output rows per image, as returned by the graph (`logits` [count, C], `features` [count, D], ...). */
  outputs: Record<string, Float32Array>;
  /** Target index per image (after the label map). */
  targets: Int32Array;
  count: number;
}

/**
 * Runs the eval graph over a dataset (or the given positions) and collects every output.
 * @example const p = await predict(evaluator, test, trainer.tensors(), { labelMap });
 */
export async function predict(
  evaluator: EvalSession,
  ds: ImageDataset,
  params: ReadonlyMap<string, Tensor> | StateDict,
  opts: { labelMap?: Int32Array; indices?: ArrayLike<number> } = {},
): Promise<Predictions> {
  const chunks: Record<string, Float32Array[]> = {};
  const targets: number[] = [];
  for (const batch of evalBatches(ds, { batchSize: evaluator.batchSize, labelMap: opts.labelMap, indices: opts.indices })) {
    const out = await evaluator.run(batch.x, batch.size, params);
    for (const [k, v] of Object.entries(out)) {
      chunks[k] ??= [];
      chunks[k].push(v);
    }
    for (const t of batch.y) targets.push(Number(t));
  }
  const outputs: Record<string, Float32Array> = {};
  for (const [k, parts] of Object.entries(chunks)) {
    const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    outputs[k] = all;
  }
  return { outputs, targets: Int32Array.from(targets), count: targets.length };
}

/**
 * Index of the top-k scores of each row (k=1: argmax).
 * @example const top1 = topK(logits, classes, 1);
 */
export function topK(scores: Float32Array, width: number, k: number): Int32Array[] {
  const rows = scores.length / width;
  const out: Int32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const row = scores.subarray(r * width, (r + 1) * width);
    const idx = Int32Array.from({ length: width }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
    out.push(idx.slice(0, Math.min(k, width)));
  }
  return out;
}

/**
 * Fraction of rows whose target is among the top-k scores.
 * @example const acc = accuracy(p.outputs.logits!, p.targets, classes);
 */
export function accuracy(scores: Float32Array, targets: Int32Array, width: number, k = 1): number {
  if (targets.length === 0) return 0;
  let hits = 0;
  const tops = topK(scores, width, k);
  tops.forEach((t, i) => {
    if (t.includes(targets[i]!)) hits++;
  });
  return hits / targets.length;
}
