import { cast } from '../../graph/ops/cast.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

const FLOAT = new Set(['float32', 'float64']);

export const castGrad: GradRule = {
  opType: 'Cast',
  gradFn(node, dys) {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    if (!FLOAT.has(x.dtype) || !FLOAT.has(y.dtype)) return [null];
    const dy = outputGrad(node, dys);
    return [x.dtype === y.dtype ? dy : cast(dy, x.dtype)];
  },
};
