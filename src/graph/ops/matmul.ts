import type { OpDef, Value } from '../builder.js';
import { broadcastShapes } from '../shape.js';

export const MatMulOp: OpDef<Record<string, never>> = {
  opType: 'MatMul',
  attrKinds: {},
  infer([a, b]) {
    if (!a || !b) throw new Error('MatMul needs two inputs');
    if (a.shape.length < 2 || b.shape.length < 2) throw new Error('MatMul here supports rank >= 2 operands');
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [k2, n] = b.shape.slice(-2) as [number, number];
    if (k !== k2 && k >= 0 && k2 >= 0) throw new Error(`MatMul inner dimensions differ: ${k} vs ${k2}`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ dtype: a.dtype, shape: [...batch, m, n] }];
  },
};

/**
 * Matrix product with NumPy batch broadcasting.
 * @example const y = matmul(x, w); // [N, K] x [K, M] -> [N, M]
 */
export function matmul(a: Value, b: Value): Value {
  return a.graph.apply(MatMulOp, [a, b], {})[0]!;
}
