import type { OpDef, Value } from '../builder.js';
import { broadcastShapes } from '../shape.js';

export interface GemmAttrs {
  transA?: number;
  transB?: number;
  alpha?: number;
  beta?: number;
}

export const GemmOp: OpDef<GemmAttrs> = {
  opType: 'Gemm',
  attrKinds: { transA: 'int', transB: 'int', alpha: 'float', beta: 'float' },
  infer([a, b, c], attrs) {
    if (!a || !b || a.shape.length !== 2 || b.shape.length !== 2) throw new Error('Gemm needs rank-2 A and B');
    const [m, k] = (attrs.transA ? [a.shape[1], a.shape[0]] : a.shape) as [number, number];
    const [k2, n] = (attrs.transB ? [b.shape[1], b.shape[0]] : b.shape) as [number, number];
    if (k !== k2) throw new Error(`Gemm inner dimensions differ: ${k} vs ${k2}`);
    if (c) {
      const bc = broadcastShapes([m, n], c.shape);
      if (bc[0] !== m || bc[1] !== n) throw new Error(`Gemm: C of shape [${c.shape.join(', ')}] does not broadcast to [${m}, ${n}]`);
    }
    return [{ dtype: a.dtype, shape: [m, n] }];
  },
};

/**
 * alpha * op(A) op(B) + beta * C, where op transposes when transA/transB is 1.
 * @example const y = gemm(x, w, b, { transB: 1 }); // a PyTorch Linear layer
 */
export function gemm(a: Value, b: Value, c: Value | null = null, attrs: GemmAttrs = {}): Value {
  return a.graph.apply(GemmOp, [a, b, c], attrs)[0]!;
}
