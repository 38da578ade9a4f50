import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export const SqueezeOp: OpDef<Record<string, never>> = {
  opType: 'Squeeze',
  attrKinds: {},
  infer([x], _attrs, [, axesC]) {
    const axes = new Set(Array.from(axesC!.data as BigInt64Array, Number).map((a) => normAxis(a, x!.shape.length)));
    for (const a of axes) if (x!.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} has size ${x!.shape[a]}`);
    return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !axes.has(i)) }];
  },
};

/**
 * Removes size-1 axes.
 * @example const v = squeeze(x, [2, 3]); // [N, C, 1, 1] -> [N, C]
 */
export function squeeze(x: Value, axes: readonly number[]): Value {
  return x.graph.apply(SqueezeOp, [x, x.graph.constI64(axes)], {})[0]!;
}
