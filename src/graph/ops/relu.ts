import type { Value } from '../builder.js';
import { applyUnary, unaryDef } from './common.js';

export const ReluOp = unaryDef('Relu');

/**
 * Elementwise max(x, 0).
 * @example const y = relu(x);
 */
export function relu(x: Value): Value {
  return applyUnary(ReluOp, x);
}
