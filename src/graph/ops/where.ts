import type { OpDef, Value } from '../builder.js';
import { broadcastShapes } from '../shape.js';

export const WhereOp: OpDef<Record<string, never>> = {
  opType: 'Where',
  attrKinds: {},
  infer([c, a, b]) {
    if (c!.dtype !== 'bool') throw new Error('Where condition must be bool');
    if (a!.dtype !== b!.dtype) throw new Error('Where branches need equal dtypes');
    return [{ dtype: a!.dtype, shape: broadcastShapes(c!.shape, broadcastShapes(a!.shape, b!.shape)) }];
  },
};

/**
 * Elementwise choice: cond ? a : b, with broadcasting.
 * @example const y = where(greater(x, zero), x, zero);
 */
export function where(cond: Value, a: Value, b: Value): Value {
  return cond.graph.apply(WhereOp, [cond, a, b], {})[0]!;
}
