import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export interface GatherElementsAttrs {
  axis?: number;
}

export const GatherElementsOp: OpDef<GatherElementsAttrs> = {
  opType: 'GatherElements',
  attrKinds: { axis: 'int' },
  infer([data, indices], attrs) {
    if (data!.shape.length !== indices!.shape.length) throw new Error('GatherElements: data and indices need equal rank');
    normAxis(attrs.axis ?? 0, data!.shape.length);
    return [{ dtype: data!.dtype, shape: indices!.shape }];
  },
};

/**
 * out[i][j] = data[i][indices[i][j]] for axis 1 (label selection from log-probabilities).
 * @example const picked = gatherElements(logProbs, labels2d, 1); // [N, C], [N, 1] -> [N, 1]
 */
export function gatherElements(data: Value, indices: Value, axis = 0): Value {
  return data.graph.apply(GatherElementsOp, [data, indices], { axis })[0]!;
}
