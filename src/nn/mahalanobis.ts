/**
 * The Mahalanobis readout as graph ops: what an exported model with Gaussian class statistics computes, in
 * standard ONNX ops only (the same function as `mahalanobisScores` in nn/class-statistics.ts).
 */
import type { Value } from '../graph/builder.js';
import { matmul, mul, neg, reduceSum, sub, transpose, unsqueeze } from '../graph/ops/index.js';

/**
 * Minus the squared Mahalanobis distance of every row of `z` [B, D] to every class mean `means` [C, D] under that
 * class's precision matrix `precisions` [C, D, D]: scores [B, C] (argmax = prediction).
 * @example const scores = mahalanobisScores(l2Normalize(features, 1), meansInit, precisionsInit);
 */
export function mahalanobisScores(z: Value, means: Value, precisions: Value): Value {
  const diff = sub(unsqueeze(z, [1]), unsqueeze(means, [0])); // [B, C, D]
  const perClass = transpose(diff, [1, 0, 2]); // [C, B, D]: one batched MatMul per class precision
  const quadratic = reduceSum(mul(matmul(perClass, precisions), perClass), [2], false); // [C, B]
  return neg(transpose(quadratic, [1, 0]));
}
