import { mul } from '../../graph/ops/mul.js';
import { sign } from '../../graph/ops/sign.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const absGrad: GradRule = {
  opType: 'Abs',
  gradFn(node, dys) {
    return [mul(outputGrad(node, dys), sign(node.inputs[0]!))];
  },
};
