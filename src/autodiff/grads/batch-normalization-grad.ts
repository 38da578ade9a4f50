import type { Value } from '../../graph/builder.js';
import { add } from '../../graph/ops/add.js';
import type { BatchNormAttrs } from '../../graph/ops/batch-normalization.js';
import { mul } from '../../graph/ops/mul.js';
import { reduceSum } from '../../graph/ops/reduce-sum.js';
import { reciprocal } from '../../graph/ops/reciprocal.js';
import { reshape } from '../../graph/ops/reshape.js';
import { sqrt } from '../../graph/ops/sqrt.js';
import { sub } from '../../graph/ops/sub.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/**
 * Inference-mode BatchNormalization (fixed statistics): an affine map per channel. Used for frozen-statistics
 * BN in later class-incremental phases; mean and variance get no gradient.
 */
export const batchNormalizationGrad: GradRule = {
  opType: 'BatchNormalization',
  gradFn(node, dys, needs) {
    const [x, scale, , mean, variance] = node.inputs;
    const eps = (node.attrs as BatchNormAttrs).epsilon ?? 1e-5;
    const dy = outputGrad(node, dys);
    const c = x!.shape[1]!;
    const perChannel = (v: Value) => reshape(v, [1, c, ...x!.shape.slice(2).map(() => 1)]);
    const axes = [0, ...x!.shape.slice(2).map((_, i) => i + 2)];
    const invStd = reciprocal(sqrt(add(variance!, eps)));
    const dx = needs[0] ? mul(dy, perChannel(mul(scale!, invStd))) : null;
    const dScale = needs[1] ? reduceSum(mul(dy, mul(sub(x!, perChannel(mean!)), perChannel(invStd))), axes, false) : null;
    const dBias = needs[2] ? reduceSum(dy, axes, false) : null;
    return [dx, dScale, dBias, null, null];
  },
};
