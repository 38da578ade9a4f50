import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

export interface ConcatAttrs {
  axis: number;
}

export const ConcatOp: OpDef<ConcatAttrs> = {
  opType: 'Concat',
  attrKinds: { axis: 'int' },
  infer(inputs, attrs) {
    const xs = inputs.filter((x) => x !== null);
    if (xs.length === 0) throw new Error('Concat needs inputs');
    const rank = xs[0]!.shape.length;
    const axis = normAxis(attrs.axis, rank);
    const shape = [...xs[0]!.shape];
    shape[axis] = 0;
    for (const x of xs) {
      if (x!.shape.length !== rank || x!.dtype !== xs[0]!.dtype) throw new Error('Concat inputs must share rank and dtype');
      x!.shape.forEach((d, i) => {
        if (i !== axis && d !== shape[i]) throw new Error(`Concat: dimension ${i} differs (${d} vs ${shape[i]})`);
      });
      shape[axis] = shape[axis]! < 0 || x!.shape[axis]! < 0 ? -1 : shape[axis]! + x!.shape[axis]!;
    }
    return [{ dtype: xs[0]!.dtype, shape }];
  },
};

/**
 * Joins tensors along `axis`.
 * @example const both = concat([a, b], 0);
 */
export function concat(xs: readonly Value[], axis: number): Value {
  if (xs.length === 0) throw new Error('concat needs at least one tensor');
  return xs[0]!.graph.apply(ConcatOp, xs, { axis })[0]!;
}
