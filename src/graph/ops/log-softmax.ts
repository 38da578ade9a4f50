import type { Value } from '../builder.js';
import { applyAxis, axisDef } from './common.js';

export const LogSoftmaxOp = axisDef('LogSoftmax');

/**
 * LogSoftmax along `axis` (default: last).
 * @example const p = logSoftmax(logits, -1);
 */
export function logSoftmax(x: Value, axis = -1): Value {
  return applyAxis(LogSoftmaxOp, x, axis);
}
