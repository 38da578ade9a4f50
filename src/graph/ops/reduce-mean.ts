import type { OpDef, Value } from '../builder.js';
import { reducedShape } from '../shape.js';

export interface ReduceMeanAttrs {
  axes?: readonly number[];
  keepdims?: number;
}

/** At opset 17 ReduceMean takes its axes as an attribute. */
export const ReduceMeanOp: OpDef<ReduceMeanAttrs> = {
  opType: 'ReduceMean',
  attrKinds: { axes: 'ints', keepdims: 'int' },
  infer([x], attrs) {
    return [{ dtype: x!.dtype, shape: reducedShape(x!.shape, attrs.axes, (attrs.keepdims ?? 1) === 1) }];
  },
};

/**
 * Mean over `axes` (all axes when omitted).
 * @example const m = reduceMean(x, [0, 2, 3], true);
 */
export function reduceMean(x: Value, axes?: readonly number[], keepdims = true): Value {
  return x.graph.apply(ReduceMeanOp, [x], { axes: axes && axes.length ? axes : undefined, keepdims: keepdims ? 1 : 0 })[0]!;
}
