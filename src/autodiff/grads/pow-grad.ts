import { mul } from '../../graph/ops/mul.js';
import { pow } from '../../graph/ops/pow.js';
import type { GradRule } from '../rule.js';
import { outputGrad, sumToShape } from '../rule.js';

/** Only constant exponents are differentiated (x^p with p a literal), which covers every use here. */
export const powGrad: GradRule = {
  opType: 'Pow',
  gradFn(node, dys, needs) {
    const dy = outputGrad(node, dys);
    const [a, b] = node.inputs;
    if (needs[1]) throw new Error(`${node.name}: Pow is differentiated only with respect to its base (constant exponent)`);
    const p = a!.graph.literalOf(b!);
    if (p?.data.length !== 1) throw new Error(`${node.name}: Pow gradient needs a scalar constant exponent`);
    const e = Number(p.data[0]);
    const da = mul(mul(dy, e), pow(a!, a!.graph.constF32(e - 1, b!.shape)));
    return [sumToShape(da, a!.shape), null];
  },
};
