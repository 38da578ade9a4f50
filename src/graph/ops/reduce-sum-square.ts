import type { OpDef, Value } from '../builder.js';
import { reducedShape } from '../shape.js';

export interface ReduceSumSquareAttrs {
  axes?: readonly number[];
  keepdims?: number;
}

/** At opset 17 ReduceSumSquare takes its axes as an attribute. */
export const ReduceSumSquareOp: OpDef<ReduceSumSquareAttrs> = {
  opType: 'ReduceSumSquare',
  attrKinds: { axes: 'ints', keepdims: 'int' },
  infer([x], attrs) {
    return [{ dtype: x!.dtype, shape: reducedShape(x!.shape, attrs.axes, (attrs.keepdims ?? 1) === 1) }];
  },
};

/**
 * Sum of squares over `axes` (all axes when omitted).
 * @example const m = reduceSumSquare(x, [0, 2, 3], true);
 */
export function reduceSumSquare(x: Value, axes?: readonly number[], keepdims = true): Value {
  return x.graph.apply(ReduceSumSquareOp, [x], { axes: axes && axes.length ? axes : undefined, keepdims: keepdims ? 1 : 0 })[0]!;
}
