import type { OpDef, Value } from '../builder.js';
import { reducedShape } from '../shape.js';

export interface ReduceMaxAttrs {
  axes?: readonly number[];
  keepdims?: number;
}

/** At opset 17 ReduceMax takes its axes as an attribute. */
export const ReduceMaxOp: OpDef<ReduceMaxAttrs> = {
  opType: 'ReduceMax',
  attrKinds: { axes: 'ints', keepdims: 'int' },
  infer([x], attrs) {
    return [{ dtype: x!.dtype, shape: reducedShape(x!.shape, attrs.axes, (attrs.keepdims ?? 1) === 1) }];
  },
};

/**
 * Maximum over `axes` (all axes when omitted); not differentiated (used for stable softmax shifts and argmax-free readouts).
 * @example const m = reduceMax(x, [0, 2, 3], true);
 */
export function reduceMax(x: Value, axes?: readonly number[], keepdims = true): Value {
  return x.graph.apply(ReduceMaxOp, [x], { axes: axes && axes.length ? axes : undefined, keepdims: keepdims ? 1 : 0 })[0]!;
}
