import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const MaxOp = binaryDef('Max');

/**
 * Elementwise maximum of two tensors with NumPy broadcasting.
 * @example const z = max(x, y);
 */
export function max(a: Operand, b: Operand): Value {
  return applyBinary(MaxOp, a, b);
}
