import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const NegOp = unaryDef('Neg');

/**
 * Elementwise negation.
 * @example const y = neg(x);
 */
export function neg(x: Value): Value {
  return applyUnary(NegOp, x);
}
