import { gemm, type GemmAttrs } from '../../graph/ops/gemm.js';
import { mul } from '../../graph/ops/mul.js';
import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

/** Y = alpha op(A) op(B) + beta C; the transposes are folded into Gemm's own flags. */
export const gemmGrad: GradRule = {
  opType: 'Gemm',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [a, b, c] = node.inputs;
    const { transA = 0, transB = 0, alpha = 1, beta = 1 } = node.attrs as GemmAttrs;
    let da = null;
    let db = null;
    if (needs[0]) {
      // op(A) = A:  dA = dY op(B)^T ;  op(A) = A^T: dA = op(B) dY^T
      da = transA ? gemm(b!, dy, null, { transA: transB, transB: 1, alpha }) : gemm(dy, b!, null, { transB: transB ? 0 : 1, alpha });
    }
    if (needs[1]) {
      db = transB ? gemm(dy, a!, null, { transA: 1, transB: transA, alpha }) : gemm(a!, dy, null, { transA: transA ? 0 : 1, alpha });
    }
    const dc = c && needs[2] ? sumToShape(beta === 1 ? dy : mul(dy, beta), c.shape) : null;
    return [da, db, dc];
  },
};
