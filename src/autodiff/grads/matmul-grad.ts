import { matmul } from '../../graph/ops/matmul.js';
import { transpose } from '../../graph/ops/transpose.js';
import type { Value } from '../../graph/builder.js';
import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

/** Swaps the last two axes. */
function swapLast(x: Value): Value {
  const perm = [...Array(x.rank).keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[x.rank - 2]!];
  return transpose(x, perm);
}

/** dA = dY B^T, dB = A^T dY, summed over broadcast batch axes. */
export const matmulGrad: GradRule = {
  opType: 'MatMul',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [a, b] = node.inputs;
    return [needs[0] ? sumToShape(matmul(dy, swapLast(b!)), a!.shape) : null, needs[1] ? sumToShape(matmul(swapLast(a!), dy), b!.shape) : null];
  },
};
