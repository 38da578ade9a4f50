import type { Value } from '../builder.js';
import { applyAxis, axisDef } from './common.js';

export const SoftmaxOp = axisDef('Softmax');

/**
 * Softmax along `axis` (default: last).
 * @example const p = softmax(logits, -1);
 */
export function softmax(x: Value, axis = -1): Value {
  return applyAxis(SoftmaxOp, x, axis);
}
