import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const SubOp = binaryDef('Sub');

/**
 * Elementwise a - b with NumPy broadcasting.
 * @example const z = sub(x, y);
 */
export function sub(a: Operand, b: Operand): Value {
  return applyBinary(SubOp, a, b);
}
