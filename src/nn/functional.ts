/**
 * Composite pieces built from primitive ops; they need no gradient rules of their own.
 */
import type { Value } from '../graph/builder.js';
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
