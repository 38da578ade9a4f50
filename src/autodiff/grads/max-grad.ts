import { cast } from '../../graph/ops/cast.js';
import { greater } from '../../graph/ops/greater.js';
import { mul } from '../../graph/ops/mul.js';
import { sub } from '../../graph/ops/sub.js';
import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

/** Two-input Max: the gradient goes to the larger operand; ties go to the first, as PyTorch's max pooling picks one. */
export const maxGrad: GradRule = {
  opType: 'Max',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [a, b] = node.inputs;
    if (node.inputs.length !== 2) throw new Error(`${node.name}: Max gradient supports two inputs`);
    const secondWins = cast(greater(b!, a!), 'float32');
    const toSecond = mul(dy, secondWins);
    return [needs[0] ? sumToShape(sub(dy, toSecond), a!.shape) : null, needs[1] ? sumToShape(toSecond, b!.shape) : null];
  },
};
