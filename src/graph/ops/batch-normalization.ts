import type { OpDef, Value } from '../builder.js';

export interface BatchNormAttrs {
  epsilon?: number;
}

/** Inference-mode BatchNormalization (running statistics as inputs). Training mode is built from primitives in nn/. */
export const BatchNormalizationOp: OpDef<BatchNormAttrs> = {
  opType: 'BatchNormalization',
  attrKinds: { epsilon: 'float', momentum: 'float', training_mode: 'int' },
  infer([x, scale, bias, mean, variance]) {
    if (!x || !scale || !bias || !mean || !variance) throw new Error('BatchNormalization needs 5 inputs');
    const c = x.shape[1];
    for (const p of [scale, bias, mean, variance]) {
      if (p.shape.length !== 1 || p.shape[0] !== c) throw new Error(`BatchNormalization: per-channel inputs must have shape [${c}]`);
    }
    return [x];
  },
};

/**
 * y = (x - mean) / sqrt(var + eps) * scale + bias, per channel (axis 1), with fixed statistics.
 * @example const y = batchNormInference(x, gamma, beta, runningMean, runningVar, { epsilon: 1e-5 });
 */
export function batchNormInference(x: Value, scale: Value, bias: Value, mean: Value, variance: Value, attrs: BatchNormAttrs = {}): Value {
  return x.graph.apply(BatchNormalizationOp, [x, scale, bias, mean, variance], attrs)[0]!;
}
