import { invertPerm, transpose, type TransposeAttrs } from '../../graph/ops/transpose.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const transposeGrad: GradRule = {
  opType: 'Transpose',
  gradFn(node, dys) {
    const x = node.inputs[0]!;
    const perm = (node.attrs as TransposeAttrs).perm ?? [...Array(x.rank).keys()].reverse();
    return [transpose(outputGrad(node, dys), invertPerm(perm))];
  },
};
