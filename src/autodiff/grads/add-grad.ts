import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

export const addGrad: GradRule = {
  opType: 'Add',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [a, b] = node.inputs;
    return [needs[0] ? sumToShape(dy, a!.shape) : null, needs[1] ? sumToShape(dy, b!.shape) : null];
  },
};
