import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export interface ArgMaxAttrs {
  axis?: number;
  keepdims?: number;
}

export const ArgMaxOp: OpDef<ArgMaxAttrs> = {
  opType: 'ArgMax',
  attrKinds: { axis: 'int', keepdims: 'int', select_last_index: 'int' },
  infer([x], attrs) {
    const a = normAxis(attrs.axis ?? 0, x!.shape.length);
    const keep = (attrs.keepdims ?? 1) === 1;
    return [{ dtype: 'int64', shape: x!.shape.flatMap((d, i) => (i === a ? (keep ? [1] : []) : [d])) }];
  },
};

/**
 * Index of the maximum along `axis` (not differentiable).
 * @example const predicted = argMax(logits, 1, false);
 */
export function argMax(x: Value, axis = 0, keepdims = true): Value {
  return x.graph.apply(ArgMaxOp, [x], { axis, keepdims: keepdims ? 1 : 0 })[0]!;
}
