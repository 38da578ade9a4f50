import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const PowOp = binaryDef('Pow');

/**
 * Elementwise a ^ b with NumPy broadcasting (exponent usually a scalar constant).
 * @example const z = pow(x, y);
 */
export function pow(a: Operand, b: Operand): Value {
  return applyBinary(PowOp, a, b);
}
