import { div } from '../../graph/ops/div.js';
import { mul } from '../../graph/ops/mul.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const sqrtGrad: GradRule = {
  opType: 'Sqrt',
  gradFn(node, dys) {
    return [div(mul(outputGrad(node, dys), 0.5), node.outputs[0]!)];
  },
};
