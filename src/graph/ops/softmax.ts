import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export interface SoftmaxAttrs {
  axis?: number;
}

export const SoftmaxOp: OpDef<SoftmaxAttrs> = {
  opType: 'Softmax',
  attrKinds: { axis: 'int' },
  infer([x], attrs) {
    normAxis(attrs.axis ?? -1, x!.shape.length);
    return [x!];
  },
};

/**
 * Softmax along `axis` (default: last).
 * @example const p = softmax(logits, -1);
 */
export function softmax(x: Value, axis = -1): Value {
  return x.graph.apply(SoftmaxOp, [x], { axis })[0]!;
}
