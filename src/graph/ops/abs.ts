import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const AbsOp = unaryDef('Abs');

/**
 * Elementwise absolute value.
 * @example const y = abs(x);
 */
export function abs(x: Value): Value {
  return applyUnary(AbsOp, x);
}
