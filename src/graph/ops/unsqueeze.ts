import type { OpDef, Value } from '../builder.js';

export const UnsqueezeOp: OpDef<Record<string, never>> = {
  opType: 'Unsqueeze',
  attrKinds: {},
  infer([x], _attrs, [, axesC]) {
    const axes = Array.from(axesC!.data as BigInt64Array, Number);
    const rank = x!.shape.length + axes.length;
    const norm = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
    if (norm.size !== axes.length || [...norm].some((a) => a < 0 || a >= rank)) {
      throw new Error(`Unsqueeze: axes [${axes.join(', ')}] must be distinct and within rank ${rank}`);
    }
    const shape: number[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.has(i) ? 1 : x!.shape[j++]!);
    return [{ dtype: x!.dtype, shape }];
  },
};

/**
 * Inserts size-1 axes.
 * @example const col = unsqueeze(labels, [1]); // [N] -> [N, 1]
 */
export function unsqueeze(x: Value, axes: readonly number[]): Value {
  return x.graph.apply(UnsqueezeOp, [x, x.graph.constI64(axes)], {})[0]!;
}
