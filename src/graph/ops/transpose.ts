import type { OpDef, Value } from '../builder.js';

export interface TransposeAttrs {
  perm?: readonly number[];
}

export const TransposeOp: OpDef<TransposeAttrs> = {
  opType: 'Transpose',
  attrKinds: { perm: 'ints' },
  infer([x], attrs) {
    const rank = x!.shape.length;
    const perm = attrs.perm ?? [...Array(rank).keys()].reverse();
    if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) {
      throw new Error(`Transpose: perm [${perm.join(', ')}] is not a permutation of rank ${rank}`);
    }
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
  },
};

/**
 * Permutes axes: output axis i is input axis perm[i].
 * @example const nhwc = transpose(x, [0, 2, 3, 1]);
 */
export function transpose(x: Value, perm: readonly number[]): Value {
  return x.graph.apply(TransposeOp, [x], { perm })[0]!;
}

/** The inverse permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  for (const [i, p] of perm.entries()) inv[p] = i;
  return inv;
}
