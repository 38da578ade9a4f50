import { cast } from '../../graph/ops/cast.js';
import { greater } from '../../graph/ops/greater.js';
import { mul } from '../../graph/ops/mul.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/**
 * dx = dy * (y > 0). The mask is Greater + Cast rather than Sign(y) (equal for y = relu(x) >= 0): onnxruntime's CPU
 * Sign is a scalar loop, measured about 10x slower than Greater + Cast on a 128x16x32x32 tensor (5% of a resnet32 step).
 */
export const reluGrad: GradRule = {
  opType: 'Relu',
  gradFn(node, dys) {
    const y = node.outputs[0]!;
    return [mul(outputGrad(node, dys), cast(greater(y, y.graph.constF32(0)), 'float32'))];
  },
};
