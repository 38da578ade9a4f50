import type { OpDef, Value } from '../builder.js';
import { broadcastShapes } from '../shape.js';

export const ExpandOp: OpDef<Record<string, never>> = {
  opType: 'Expand',
  attrKinds: {},
  infer([x], _attrs, [, shapeC]) {
    if (!shapeC) throw new Error('Expand needs a constant shape');
    return [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, Array.from(shapeC.data as BigInt64Array, Number)) }];
  },
};

/**
 * Broadcasts `x` to `shape`.
 * @example const full = expand(bias, [128, 64]);
 */
export function expand(x: Value, shape: readonly number[]): Value {
  return x.graph.apply(ExpandOp, [x, x.graph.constI64(shape)], {})[0]!;
}
