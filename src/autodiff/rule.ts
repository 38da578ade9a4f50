/** The shape of a gradient rule: plain data, one per op type, registered in grads/index.ts. */
import type { GraphNode, Shape, Value } from '../graph/builder.js';
import { reduceSum } from '../graph/ops/reduce-sum.js';
import { reshape } from '../graph/ops/reshape.js';
import { sameShape } from '../graph/shape.js';

/**
 * Where the gradient graph will run. Every formulation is exact; the target only picks the fastest one for the
 * device (e.g. cache-sized chunks on CPUs, few large kernels on GPUs, where each node costs a launch).
 */
export type GradTarget = 'cpu' | 'gpu';

export interface GradContext {
  readonly target: GradTarget;
}

export interface GradRule {
  readonly opType: string;
  /**
   * Input gradients from output gradients. `dys[i]` is null when output i gets no gradient;
   * `needs[j]` says whether input j wants one (skip work when false). Return null for inputs without one.
   */
  gradFn(node: GraphNode, dys: readonly (Value | null)[], needs: readonly boolean[], ctx: GradContext): (Value | null)[];
}

/**
 * Sums a broadcast gradient back to the shape of the operand that was broadcast.
 * @example const da = sumToShape(dy, a.shape); // dy [N, C], a [C] -> ReduceSum over axis 0
 */
export function sumToShape(grad: Value, shape: Shape): Value {
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? reduceSum(grad, axes, true) : grad;
  return sameShape(summed.shape, shape) ? summed : reshape(summed, shape);
}

/** The first output gradient, which most single-output ops need. */
export function outputGrad(node: GraphNode, dys: readonly (Value | null)[]): Value {
  const dy = dys[0];
  if (!dy) throw new Error(`${node.name}: expected a gradient for its output`);
  return dy;
}
