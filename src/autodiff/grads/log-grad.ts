import { div } from '../../graph/ops/div.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const logGrad: GradRule = {
  opType: 'Log',
  gradFn(node, dys) {
    return [div(outputGrad(node, dys), node.inputs[0]!)];
  },
};
