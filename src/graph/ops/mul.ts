import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const MulOp = binaryDef('Mul');

/**
 * Elementwise a * b with NumPy broadcasting.
 * @example const z = mul(x, y);
 */
export function mul(a: Operand, b: Operand): Value {
  return applyBinary(MulOp, a, b);
}
