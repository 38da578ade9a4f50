import type { OpDef, Value } from '../builder.js';
import { mul } from './mul.js';

export interface BatchNormAttrs {
  epsilon?: number;
  momentum?: number;
  /** 1: normalise with batch statistics and also output them (ONNX's training mode). */
  training_mode?: number;
}

/**
 * BatchNormalization over axis 1. Inference mode (default) normalises with the given statistics; training mode
 * normalises with the batch's and outputs `mean*momentum + batch_mean*(1-momentum)` and likewise for the (biased)
 * variance.
 */
export const BatchNormalizationOp: OpDef<BatchNormAttrs> = {
  opType: 'BatchNormalization',
  attrKinds: { epsilon: 'float', momentum: 'float', training_mode: 'int' },
  infer([x, scale, bias, mean, variance], attrs) {
    if (!x || !scale || !bias || !mean || !variance) throw new Error('BatchNormalization needs 5 inputs');
    const c = x.shape[1];
    for (const p of [scale, bias, mean, variance]) {
      if (p.shape.length !== 1 || p.shape[0] !== c) throw new Error(`BatchNormalization: per-channel inputs must have shape [${c}]`);
    }
    return attrs.training_mode === 1 ? [x, mean, variance] : [x];
  },
};

/**
 * y = (x - mean) / sqrt(var + eps) * scale + bias, per channel (axis 1), with fixed statistics.
 * @example const y = batchNormInference(x, gamma, beta, runningMean, runningVar, { epsilon: 1e-5 });
 */
export function batchNormInference(x: Value, scale: Value, bias: Value, mean: Value, variance: Value, attrs: Pick<BatchNormAttrs, 'epsilon'> = {}): Value {
  return x.graph.apply(BatchNormalizationOp, [x, scale, bias, mean, variance], attrs)[0]!;
}

/**
 * BatchNormalization with batch statistics in one kernel; also returns the batch mean and biased variance [C]
 * (ONNX's training mode at momentum 0, so its "running" outputs are exactly the batch statistics).
 * The op's statistics inputs do not affect any output at momentum 0, but onnxruntime computes the statistics
 * outputs in place of them even when other nodes read the same tensor (measured: with a shared zeros constant, or
 * with equal-valued initializers it merges, two layers returned one layer's statistics; with the layer's running
 * mean as input, the running-mean update read the batch mean). So the inputs are fresh values only this node reads:
 * `scale * 0` and `bias * 0`, two tiny [C] products.
 * @example const { y, mean, variance } = batchNormTraining(x, gamma, beta, { epsilon: 1e-5 });
 */
export function batchNormTraining(
  x: Value,
  scale: Value,
  bias: Value,
  attrs: Pick<BatchNormAttrs, 'epsilon'> = {},
): { y: Value; mean: Value; variance: Value } {
  const [y, mean, variance] = x.graph.apply(BatchNormalizationOp, [x, scale, bias, mul(scale, 0), mul(bias, 0)], { ...attrs, momentum: 0, training_mode: 1 });
  return { y: y!, mean: mean!, variance: variance! };
}
