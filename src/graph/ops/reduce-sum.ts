import type { OpDef, Value } from '../builder.js';
import { reducedType } from './common.js';

export interface ReduceSumAttrs {
  keepdims?: number;
}

/** ReduceSum takes its axes as an input from opset 13 on (unlike ReduceMean at opset 17). */
export const ReduceSumOp: OpDef<ReduceSumAttrs> = {
  opType: 'ReduceSum',
  attrKinds: { keepdims: 'int', noop_with_empty_axes: 'int' },
  infer([x], attrs, [, axesC]) {
    const axes = axesC ? Array.from(axesC.data as BigInt64Array, Number) : undefined;
    return [reducedType(x!, axes, attrs.keepdims)];
  },
};

/**
 * Sum over `axes` (all axes when omitted).
 * @example const s = reduceSum(x, [0, 2, 3], true);
 */
export function reduceSum(x: Value, axes?: readonly number[], keepdims = true): Value {
  const g = x.graph;
  return g.apply(ReduceSumOp, [x, axes?.length ? g.constI64(axes) : null], { keepdims: keepdims ? 1 : 0 })[0]!;
}
