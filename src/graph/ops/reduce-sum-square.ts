import type { Value } from '../builder.js';
import { applyReduce, reduceDef } from './common.js';

/** At opset 17 ReduceSumSquare takes its axes as an attribute. */
export const ReduceSumSquareOp = reduceDef('ReduceSumSquare');

/**
 * Sum of squares over `axes` (all axes when omitted).
 * @example const m = reduceSumSquare(x, [0, 2, 3], true);
 */
export function reduceSumSquare(x: Value, axes?: readonly number[], keepdims = true): Value {
  return applyReduce(ReduceSumSquareOp, x, axes, keepdims);
}
