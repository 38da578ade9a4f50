import { mul } from '../../graph/ops/mul.js';
import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

export const mulGrad: GradRule = {
  opType: 'Mul',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [a, b] = node.inputs;
    return [needs[0] ? sumToShape(mul(dy, b!), a!.shape) : null, needs[1] ? sumToShape(mul(dy, a!), b!.shape) : null];
  },
};
