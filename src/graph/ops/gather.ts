import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export interface GatherAttrs {
  axis?: number;
}

export const GatherOp: OpDef<GatherAttrs> = {
  opType: 'Gather',
  attrKinds: { axis: 'int' },
  infer([data, indices], attrs) {
    if (indices!.dtype !== 'int64' && indices!.dtype !== 'int32') throw new Error('Gather indices must be int64 or int32');
    const a = normAxis(attrs.axis ?? 0, data!.shape.length);
    return [{ dtype: data!.dtype, shape: [...data!.shape.slice(0, a), ...indices!.shape, ...data!.shape.slice(a + 1)] }];
  },
};

/**
 * Picks slices of `data` along `axis` by index.
 * @example const rows = gather(weights, labels, 0);
 */
export function gather(data: Value, indices: Value, axis = 0): Value {
  return data.graph.apply(GatherOp, [data, indices], { axis })[0]!;
}
