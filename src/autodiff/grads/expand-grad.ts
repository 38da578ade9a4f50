import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

export const expandGrad: GradRule = {
  opType: 'Expand',
  gradFn: (node, dys) => [sumToShape(outputGrad(node, dys), node.inputs[0]!.shape), null],
};
