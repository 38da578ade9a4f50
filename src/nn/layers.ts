/**
 * Layers over a ParamSource: the same code builds training graphs, evaluation graphs, exports and frozen teachers.
 */
import type { Value } from '../graph/builder.js';
import { add, batchNormInference, batchNormTraining, conv, div, mul, reduceMean, relu, reshape, sqrt, sub } from '../graph/ops/index.js';
import type { ParamSource } from './params.js';

export const BN_EPSILON = 1e-5;
/** PyTorch's default: running = (1 - momentum) * running + momentum * batch statistic. */
export const BN_MOMENTUM = 0.1;

/**
 * 2-D convolution without bias (every conv here is followed by BatchNorm), "same" padding for odd kernels.
 * @example const y = conv2d(params, 'conv1', x, 16, 3, 1);
 */
export function conv2d(p: ParamSource, name: string, x: Value, out: number, kernel: number, stride: number, padding = (kernel - 1) >> 1): Value {
  const w = p.param(`${name}.weight`, [out, x.shape[1]!, kernel, kernel], { kind: 'kaiming-normal-fan-out' });
  return p.graph.scope(name, () => conv(x, w, null, { strides: [stride, stride], pads: [padding, padding, padding, padding] }));
}

/**
 * BatchNorm over axis 1 in the source's mode. Training mode uses batch statistics (biased variance for
 * normalising, unbiased for the running estimate, as PyTorch) and registers the running-statistics update.
 * @example const y = batchNorm(params, 'bn1', x);
 */
export function batchNorm(p: ParamSource, name: string, x: Value): Value {
  const c = x.shape[1]!;
  const gamma = p.param(`${name}.weight`, [c], { kind: 'constant', value: 1 });
  const beta = p.param(`${name}.bias`, [c], { kind: 'constant', value: 0 });
  const runningMean = p.buffer(`${name}.running_mean`, [c], { kind: 'constant', value: 0 });
  const runningVar = p.buffer(`${name}.running_var`, [c], { kind: 'constant', value: 1 });
  return p.graph.scope(name, () => {
    if (p.bnMode !== 'train') return batchNormInference(x, gamma, beta, runningMean, runningVar, { epsilon: BN_EPSILON });
    const count = x.size / c;
    const keep = 1 - BN_MOMENTUM;
    const updateRunning = (mean: Value, variance: Value) => {
      p.updateBuffer(runningMean, add(mul(runningMean, keep), mul(mean, BN_MOMENTUM)));
      p.updateBuffer(runningVar, add(mul(runningVar, keep), mul(variance, (BN_MOMENTUM * count) / Math.max(1, count - 1))));
    };
    if ((p.batchNormKernel ?? 'fused') === 'fused') {
      const { y, mean, variance } = batchNormTraining(x, gamma, beta, { epsilon: BN_EPSILON });
      updateRunning(mean, variance);
      return y;
    }
    const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const perChannel = [1, c, ...x.shape.slice(2).map(() => 1)];
    const mean = reduceMean(x, axes, true);
    const centered = sub(x, mean);
    const variance = reduceMean(mul(centered, centered), axes, true);
    const invStd = div(p.graph.constF32(1), sqrt(add(variance, BN_EPSILON)));
    const y = add(mul(centered, mul(invStd, reshape(gamma, perChannel))), reshape(beta, perChannel));
    updateRunning(reshape(mean, [c]), reshape(variance, [c]));
    return y;
  });
}

/**
 * conv -> BN -> optional ReLU.
 * @example const y = convBn(params, 'conv1', 'bn1', x, 16, 3, 1, true);
 */
export function convBn(p: ParamSource, convName: string, bnName: string, x: Value, out: number, kernel: number, stride: number, withRelu: boolean): Value {
  const y = batchNorm(p, bnName, conv2d(p, convName, x, out, kernel, stride));
  return withRelu ? relu(y) : y;
}

/**
 * ResNet BasicBlock: two 3x3 conv-BN, 1x1 conv-BN shortcut when the shape changes, final ReLU unless `lastRelu` is false.
 * @example const y = basicBlock(params, 'layer2.0', x, 32, 2, true);
 */
export function basicBlock(p: ParamSource, name: string, x: Value, out: number, stride: number, finalRelu: boolean): Value {
  return p.graph.scope(name, () => {
    const h = convBn(p, 'conv1', 'bn1', x, out, 3, stride, true);
    const y = convBn(p, 'conv2', 'bn2', h, out, 3, 1, false);
    const shortcut = stride !== 1 || x.shape[1] !== out ? convBn(p, 'downsample.0', 'downsample.1', x, out, 1, stride, false) : x;
    const sum = add(y, shortcut);
    return finalRelu ? relu(sum) : sum;
  });
}
