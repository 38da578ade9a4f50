import { neg } from '../../graph/ops/neg.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const negGrad: GradRule = {
  opType: 'Neg',
  gradFn(node, dys) {
    return [neg(outputGrad(node, dys))];
  },
};
