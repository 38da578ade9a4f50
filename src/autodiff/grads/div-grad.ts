import { div } from '../../graph/ops/div.js';
import { mul } from '../../graph/ops/mul.js';
import { neg } from '../../graph/ops/neg.js';
import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

/** d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b = -y/b. */
export const divGrad: GradRule = {
  opType: 'Div',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [a, b] = node.inputs;
    const y = node.outputs[0]!;
    const da = needs[0] ? sumToShape(div(dy, b!), a!.shape) : null;
    const db = needs[1] ? neg(sumToShape(div(mul(dy, y), b!), b!.shape)) : null;
    return [da, db];
  },
};
