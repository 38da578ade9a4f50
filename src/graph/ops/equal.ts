import type { Value } from '../builder.js';
import { applyBinary, binaryDef, type Operand } from './common.js';

export const EqualOp = binaryDef('Equal', 'bool');

/**
 * Elementwise a == b (bool result).
 * @example const z = equal(x, y);
 */
export function equal(a: Operand, b: Operand): Value {
  return applyBinary(EqualOp, a, b);
}
