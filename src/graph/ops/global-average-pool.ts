import type { OpDef, Value } from '../builder.js';

export const GlobalAveragePoolOp: OpDef<Record<string, never>> = {
  opType: 'GlobalAveragePool',
  attrKinds: {},
  infer([x]) {
    if (x!.shape.length < 3) throw new Error('GlobalAveragePool needs rank >= 3 (N, C, spatial...)');
    return [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]!, ...x!.shape.slice(2).map(() => 1)] }];
  },
};

/**
 * Mean over all spatial axes, keeping them as size 1.
 * @example const pooled = globalAveragePool(features); // [N, C, H, W] -> [N, C, 1, 1]
 */
export function globalAveragePool(x: Value): Value {
  return x.graph.apply(GlobalAveragePoolOp, [x], {})[0]!;
}
