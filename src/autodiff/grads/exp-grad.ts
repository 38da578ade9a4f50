import { mul } from '../../graph/ops/mul.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const expGrad: GradRule = {
  opType: 'Exp',
  gradFn(node, dys) {
    return [mul(outputGrad(node, dys), node.outputs[0]!)];
  },
};
