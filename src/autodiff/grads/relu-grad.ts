import { mul } from '../../graph/ops/mul.js';
import { sign } from '../../graph/ops/sign.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/** y = relu(x) >= 0, so sign(y) is exactly the 0/1 mask of x > 0: one op cheaper than Greater + Cast. */
export const reluGrad: GradRule = {
  opType: 'Relu',
  gradFn(node, dys) {
    return [mul(outputGrad(node, dys), sign(node.outputs[0]!))];
  },
};
