/**
 * Composite pieces built from primitive ops; they need no gradient rules of their own.
 */
import type { Value } from '../graph/builder.js';
import { constTensor } from '../graph/builder.js';
import { add, div, gemm, logSoftmax, mul, neg, oneHot, reduceMean, reduceSum, sqrt, sub } from '../graph/ops/index.js';

/**
 * x / ||x|| along `axis` (epsilon inside the root keeps zero vectors finite and the op smooth).
 * @example const unit = l2Normalize(features, 1);
 */
export function l2Normalize(x: Value, axis = 1, eps = 1e-12): Value {
  return div(x, sqrt(add(reduceSum(mul(x, x), [axis], true), eps)));
}

/**
 * Cosine similarity of every row of `a` [N, D] with every row of `b` [C, D]: [N, C].
 * @example const cos = cosineSimilarity(features, classWeights);
 */
export function cosineSimilarity(a: Value, b: Value): Value {
  return gemm(l2Normalize(a, 1), l2Normalize(b, 1), null, { transB: 1 });
}

/**
 * Mean cross-entropy of logits [N, C] against int64 labels [N].
 * @example const loss = crossEntropy(logits, labels);
 */
export function crossEntropy(logits: Value, labels: Value): Value {
  const classes = logits.shape[1]!;
  const picked = reduceSum(mul(logSoftmax(logits, 1), oneHot(labels, classes)), [1], false);
  return neg(reduceMean(picked, [0], false));
}

/**
 * Feature distillation: squared L2 distance of L2-normalised features, summed over dims, mean over the batch.
 * @example const lem = normalizedFeatureDistance(studentFeatures, teacherFeatures);
 */
export function normalizedFeatureDistance(a: Value, b: Value): Value {
  const d = sub(l2Normalize(a, 1), l2Normalize(b, 1));
  return reduceMean(reduceSum(mul(d, d), [1], false), [0], false);
}

/**
 * Mean of the cross-entropies of several heads' logits (each [N, C]) against the same labels; one head gives
 * exactly `crossEntropy` (SPB-M's L_mp = (1/gamma) sum_b CE_b).
 * @example const lmp = meanCrossEntropy([l0, l90, l180, l270], labels);
 */
export function meanCrossEntropy(logits: readonly Value[], labels: Value): Value {
  if (logits.length === 0) throw new Error('meanCrossEntropy needs at least one head');
  if (logits.length === 1) return crossEntropy(logits[0]!, labels);
  let sum = crossEntropy(logits[0]!, labels);
  for (const l of logits.slice(1)) sum = add(sum, crossEntropy(l, labels));
  return mul(sum, labels.graph.constF32(1 / logits.length));
}

/** Added to self-similarities before the softmax so that an anchor never counts itself (exp underflows to 0). */
export const SELF_SIMILARITY_MASK = -1e4;

/**
 * Contrastive loss over `views` augmented views of each of N images (rows v*N + i of `z` [views*N, K] are view v
 * of image i): every row is an anchor, the other views of its image are its positives and every other row a
 * negative (SupCon with instance labels; with two views it is InfoNCE / NT-Xent). Rows are L2-normalised here;
 * similarities are divided by `temperature`.
 * loss = -(1/M) sum_a (1/(V-1)) sum_{p in P(a)} log softmax_{j != a}(z_a . z_j / T)_p.
 * @example const lin = contrastiveLoss(projections, 4, 0.1);
 */
export function contrastiveLoss(z: Value, views: number, temperature: number): Value {
  const m = z.shape[0]!;
  if (!(views >= 2) || m % views !== 0) throw new Error(`contrastiveLoss: ${m} rows are not ${views} views of the same images`);
  const n = m / views;
  const g = z.graph;
  const unit = l2Normalize(z, 1);
  const similarity = mul(gemm(unit, unit, null, { transB: 1 }), g.constF32(1 / temperature));
  const selfMask = new Float32Array(m * m);
  const positives = new Float32Array(m * m);
  for (let a = 0; a < m; a++) {
    selfMask[a * m + a] = SELF_SIMILARITY_MASK;
    for (let v = 0; v < views; v++) {
      const j = v * n + (a % n);
      if (j !== a) positives[a * m + j] = 1 / ((views - 1) * m);
    }
  }
  const logProb = logSoftmax(add(similarity, g.constant(constTensor('float32', [m, m], selfMask))), 1);
  return neg(reduceSum(mul(logProb, g.constant(constTensor('float32', [m, m], positives))), undefined, false));
}
