import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const AddOp = binaryDef('Add');

/**
 * Elementwise a + b with NumPy broadcasting.
 * @example const z = add(x, y);
 */
export function add(a: Operand, b: Operand): Value {
  return applyBinary(AddOp, a, b);
}
