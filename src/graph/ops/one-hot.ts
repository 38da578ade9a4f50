import type { OpDef, Value } from '../builder.js';

export interface OneHotAttrs {
  axis?: number;
}

export const OneHotOp: OpDef<OneHotAttrs> = {
  opType: 'OneHot',
  attrKinds: { axis: 'int' },
  infer([indices, , values], attrs, [, depthC]) {
    if (!depthC) throw new Error('OneHot needs a constant depth');
    const depth = Number((depthC.data as BigInt64Array)[0]);
    const axis = attrs.axis ?? -1;
    const shape = [...indices!.shape];
    shape.splice(axis < 0 ? shape.length + 1 + axis : axis, 0, depth);
    return [{ dtype: values!.dtype, shape }];
  },
};

/**
 * One-hot vectors of `depth` classes (float32 0/1), inserted as axis `axis` of the output (default: last).
 * @example const target = oneHot(labels, 10); // [N] int64 -> [N, 10]
 */
export function oneHot(indices: Value, depth: number, axis = -1): Value {
  const g = indices.graph;
  return g.apply(OneHotOp, [indices, g.constI64([depth], [1]), g.constF32([0, 1])], { axis })[0]!;
}
