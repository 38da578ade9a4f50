import type { Value } from '../builder.js';
import { applyReduce, reduceDef } from './common.js';

/** At opset 17 ReduceMax takes its axes as an attribute. */
export const ReduceMaxOp = reduceDef('ReduceMax');

/**
 * Maximum over `axes` (all axes when omitted); not differentiated (used for stable softmax shifts and argmax-free readouts).
 * @example const m = reduceMax(x, [0, 2, 3], true);
 */
export function reduceMax(x: Value, axes?: readonly number[], keepdims = true): Value {
  return applyReduce(ReduceMaxOp, x, axes, keepdims);
}
