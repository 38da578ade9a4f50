import type { GraphNode, Value } from '../../graph/builder.js';
import { add } from '../../graph/ops/add.js';
import type { BatchNormAttrs } from '../../graph/ops/batch-normalization.js';
import { mul } from '../../graph/ops/mul.js';
import { neg } from '../../graph/ops/neg.js';
import { reduceSum } from '../../graph/ops/reduce-sum.js';
import { reciprocal } from '../../graph/ops/reciprocal.js';
import { reshape } from '../../graph/ops/reshape.js';
import { sqrt } from '../../graph/ops/sqrt.js';
import { sub } from '../../graph/ops/sub.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/**
 * BatchNormalization. Inference mode (fixed statistics, used for frozen BN in later class-incremental phases) is an
 * affine map per channel; mean and variance get no gradient.
 *
 * Training mode (batch statistics) in closed form, so the backward costs two products and two reductions over the
 * full tensor instead of the ~10 elementwise passes the differentiated primitives would take. With N values per
 * channel, r = 1/sqrt(var + eps), g = scale:
 *   dbias = sum(dy),  dscale = r * (sum(dy*x) - mean * sum(dy)),
 *   dx = g*r*dy - g*r*dbias/N - g*r^2*dscale*(x - mean)/N = k1*dy + k2*x + k3 (k per channel).
 * The batch-statistics outputs only feed the running-statistics update, so they must not carry a gradient.
 */
export const batchNormalizationGrad: GradRule = {
  opType: 'BatchNormalization',
  gradFn(node, dys, needs) {
    return (node.attrs as BatchNormAttrs).training_mode === 1 ? trainingGrad(node, dys, needs) : inferenceGrad(node, dys, needs);
  },
};

function perChannelOf(x: Value): (v: Value) => Value {
  const shape = [1, x.shape[1]!, ...x.shape.slice(2).map(() => 1)];
  return (v) => reshape(v, shape);
}

function reducedAxes(x: Value): number[] {
  return [0, ...x.shape.slice(2).map((_, i) => i + 2)];
}

function inferenceGrad(node: GraphNode, dys: readonly (Value | null)[], needs: readonly boolean[]): (Value | null)[] {
  const [x, scale, , mean, variance] = node.inputs;
  const eps = (node.attrs as BatchNormAttrs).epsilon ?? 1e-5;
  const dy = outputGrad(node, dys);
  const perChannel = perChannelOf(x!);
  const invStd = reciprocal(sqrt(add(variance!, eps)));
  const dx = needs[0] ? mul(dy, perChannel(mul(scale!, invStd))) : null;
  const dScale = needs[1] ? reduceSum(mul(dy, mul(sub(x!, perChannel(mean!)), perChannel(invStd))), reducedAxes(x!), false) : null;
  const dBias = needs[2] ? reduceSum(dy, reducedAxes(x!), false) : null;
  return [dx, dScale, dBias, null, null];
}

function trainingGrad(node: GraphNode, dys: readonly (Value | null)[], needs: readonly boolean[]): (Value | null)[] {
  if (dys[1] || dys[2]) throw new Error(`${node.name}: the batch statistics of training-mode BatchNormalization are not differentiable here`);
  const [x, scale] = node.inputs;
  const [, mean, variance] = node.outputs;
  const eps = (node.attrs as BatchNormAttrs).epsilon ?? 1e-5;
  const dy = outputGrad(node, dys);
  const perChannel = perChannelOf(x!);
  const axes = reducedAxes(x!);
  const count = x!.size / x!.shape[1]!;
  const invStd = reciprocal(sqrt(add(variance!, eps)));
  const dBias = reduceSum(dy, axes, false);
  const dScale = mul(invStd, sub(reduceSum(mul(dy, x!), axes, false), mul(mean!, dBias)));
  let dx: Value | null = null;
  if (needs[0]) {
    const k1 = mul(scale!, invStd);
    const k2 = neg(mul(mul(k1, invStd), mul(dScale, 1 / count)));
    const k3 = sub(neg(mul(k1, mul(dBias, 1 / count))), mul(k2, mean!));
    dx = add(add(mul(dy, perChannel(k1)), perChannel(k3)), mul(x!, perChannel(k2)));
  }
  return [dx, needs[1] ? dScale : null, needs[2] ? dBias : null, null, null];
}
