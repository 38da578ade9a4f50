/** SGD with momentum, weight decay and optional Nesterov, inside the graph, with PyTorch's semantics. */
import type { Value } from '../graph/builder.js';
import { add, mul, sub } from '../graph/ops/index.js';

export interface SgdConfig {
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * d = g + wd*w;  v' = mu*v + d;  w' = w - lr * (nesterov ? d + mu*v' : v').
 * @example const { param, velocity } = sgdStep(w, dw, v, lr, { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
 */
export function sgdStep(param: Value, grad: Value, velocity: Value, lr: Value, cfg: SgdConfig): { param: Value; velocity: Value } {
  const decayed = cfg.weightDecay ? add(grad, mul(param, cfg.weightDecay)) : grad;
  const nextVelocity = cfg.momentum ? add(mul(velocity, cfg.momentum), decayed) : decayed;
  const direction = cfg.nesterov ? add(decayed, mul(nextVelocity, cfg.momentum)) : nextVelocity;
  return { param: sub(param, mul(direction, lr)), velocity: nextVelocity };
}
