import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const ExpOp = unaryDef('Exp');

/**
 * Elementwise e^x.
 * @example const y = exp(x);
 */
export function exp(x: Value): Value {
  return applyUnary(ExpOp, x);
}
