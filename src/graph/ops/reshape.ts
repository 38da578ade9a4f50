import type { OpDef, Value } from '../builder.js';
import { sizeOf } from '../builder.js';

export const ReshapeOp: OpDef<Record<string, never>> = {
  opType: 'Reshape',
  attrKinds: {},
  infer([x], _attrs, [, shapeConst]) {
    if (!x || !shapeConst) throw new Error('Reshape needs a constant target shape');
    const requested = Array.from(shapeConst.data as BigInt64Array, Number);
    // 0 copies the input's dimension at the same position, so it needs one there.
    if (requested.some((d, i) => d === 0 && i >= x.shape.length)) {
      throw new Error(`Reshape: [${requested.join(', ')}] copies (0) a dimension that the rank-${x.shape.length} input lacks`);
    }
    const target = requested.map((d, i) => (d === 0 ? x.shape[i]! : d));
    const unknown = target.filter((d) => d === -1).length;
    if (unknown > 1) throw new Error('Reshape: at most one -1 dimension');
    if (x.shape.some((d) => d < 0)) return [{ dtype: x.dtype, shape: target }];
    const known = target.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
    const total = sizeOf(x.shape);
    if (unknown) {
      if (total % known !== 0) throw new Error(`Reshape: ${total} elements do not fit [${target.join(', ')}]`);
      return [{ dtype: x.dtype, shape: target.map((d) => (d === -1 ? total / known : d)) }];
    }
    if (known !== total) throw new Error(`Reshape: ${total} elements do not fit [${target.join(', ')}]`);
    return [{ dtype: x.dtype, shape: target }];
  },
};

/**
 * Reshape to a static target (0 keeps the input dimension, one -1 is inferred).
 * @example const flat = reshape(x, [128, -1]);
 */
export function reshape(x: Value, shape: readonly number[]): Value {
  return x.graph.apply(ReshapeOp, [x, x.graph.constI64(shape)], {})[0]!;
}
