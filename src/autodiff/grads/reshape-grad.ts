import { reshape } from '../../graph/ops/reshape.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/** Ops that only reinterpret the shape: the gradient is reshaped back. */
export const reshapeLikeGrads: readonly GradRule[] = ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].map((opType) => ({
  opType,
  gradFn: (node, dys) => [reshape(outputGrad(node, dys), node.inputs[0]!.shape), ...node.inputs.slice(1).map(() => null)],
}));
