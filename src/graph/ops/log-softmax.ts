import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export interface LogSoftmaxAttrs {
  axis?: number;
}

export const LogSoftmaxOp: OpDef<LogSoftmaxAttrs> = {
  opType: 'LogSoftmax',
  attrKinds: { axis: 'int' },
  infer([x], attrs) {
    normAxis(attrs.axis ?? -1, x!.shape.length);
    return [x!];
  },
};

/**
 * LogSoftmax along `axis` (default: last).
 * @example const p = logSoftmax(logits, -1);
 */
export function logSoftmax(x: Value, axis = -1): Value {
  return x.graph.apply(LogSoftmaxOp, [x], { axis })[0]!;
}
