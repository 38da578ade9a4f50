import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const ReciprocalOp = unaryDef('Reciprocal');

/**
 * Elementwise 1/x.
 * @example const y = reciprocal(x);
 */
export function reciprocal(x: Value): Value {
  return applyUnary(ReciprocalOp, x);
}
