import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const GreaterOp = binaryDef('Greater', 'bool');

/**
 * Elementwise a > b (bool result).
 * @example const z = greater(x, y);
 */
export function greater(a: Operand, b: Operand): Value {
  return applyBinary(GreaterOp, a, b);
}
