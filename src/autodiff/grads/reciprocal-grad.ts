import { mul } from '../../graph/ops/mul.js';
import { neg } from '../../graph/ops/neg.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const reciprocalGrad: GradRule = {
  opType: 'Reciprocal',
  gradFn(node, dys) {
    const y = node.outputs[0]!;
    return [neg(mul(outputGrad(node, dys), mul(y, y)))];
  },
};
