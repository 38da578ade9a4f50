import type { Value } from '../builder.js';
import { applyReduce, reduceDef } from './common.js';

/** At opset 17 ReduceMean takes its axes as an attribute. */
export const ReduceMeanOp = reduceDef('ReduceMean');

/**
 * Mean over `axes` (all axes when omitted).
 * @example const m = reduceMean(x, [0, 2, 3], true);
 */
export function reduceMean(x: Value, axes?: readonly number[], keepdims = true): Value {
  return applyReduce(ReduceMeanOp, x, axes, keepdims);
}
