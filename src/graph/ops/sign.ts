import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const SignOp = unaryDef('Sign');

/**
 * Elementwise sign (-1, 0, 1).
 * @example const y = sign(x);
 */
export function sign(x: Value): Value {
  return applyUnary(SignOp, x);
}
