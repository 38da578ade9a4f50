import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const DivOp = binaryDef('Div');

/**
 * Elementwise a / b with NumPy broadcasting.
 * @example const z = div(x, y);
 */
export function div(a: Operand, b: Operand): Value {
  return applyBinary(DivOp, a, b);
}
