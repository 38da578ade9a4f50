import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const LogOp = unaryDef('Log');

/**
 * Elementwise natural logarithm.
 * @example const y = log(x);
 */
export function log(x: Value): Value {
  return applyUnary(LogOp, x);
}
