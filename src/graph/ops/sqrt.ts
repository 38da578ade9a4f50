import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const SqrtOp = unaryDef('Sqrt');

/**
 * Elementwise square root.
 * @example const y = sqrt(x);
 */
export function sqrt(x: Value): Value {
  return applyUnary(SqrtOp, x);
}
