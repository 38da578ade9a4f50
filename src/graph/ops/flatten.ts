import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export interface FlattenAttrs {
  axis?: number;
}

export const FlattenOp: OpDef<FlattenAttrs> = {
  opType: 'Flatten',
  attrKinds: { axis: 'int' },
  infer([x], attrs) {
    const axis = attrs.axis ?? 1;
    const a = axis === x!.shape.length ? axis : normAxis(axis, x!.shape.length);
    const prod = (s: readonly number[]) => (s.some((d) => d < 0) ? -1 : s.reduce((p, d) => p * d, 1));
    return [{ dtype: x!.dtype, shape: [prod(x!.shape.slice(0, a)), prod(x!.shape.slice(a))] }];
  },
};

/**
 * Collapses dimensions before and after `axis` into a matrix (keeps a dynamic batch dynamic).
 * @example const m = flatten(x); // [N, C, H, W] -> [N, C*H*W]
 */
export function flatten(x: Value, axis = 1): Value {
  return x.graph.apply(FlattenOp, [x], { axis })[0]!;
}
