import type { ConcatAttrs } from '../../graph/ops/concat.js';
import { slice } from '../../graph/ops/slice.js';
import { normAxis } from '../../graph/shape.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const concatGrad: GradRule = {
  opType: 'Concat',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const axis = normAxis((node.attrs as ConcatAttrs).axis, dy.rank);
    let offset = 0;
    return node.inputs.map((x, i) => {
      const size = x!.shape[axis]!;
      const start = offset;
      offset += size;
      return needs[i] ? slice(dy, { starts: [start], ends: [start + size], axes: [axis] }) : null;
    });
  },
};
