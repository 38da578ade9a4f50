import { where } from '../../graph/ops/where.js';
import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

export const whereGrad: GradRule = {
  opType: 'Where',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [c, a, b] = node.inputs;
    const zero = dy.graph.constF32(0);
    return [null, needs[1] ? sumToShape(where(c!, dy, zero), a!.shape) : null, needs[2] ? sumToShape(where(c!, zero, dy), b!.shape) : null];
  },
};
