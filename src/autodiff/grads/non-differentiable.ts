import type { GradRule } from '../rule.js';

/**
 * Ops whose outputs are integer, boolean or piecewise constant: no gradient flows through them.
 * Listing them explicitly keeps "missing rule" errors meaningful for every other op.
 */
export const nonDifferentiableGrads: readonly GradRule[] = ['ArgMax', 'Equal', 'Greater', 'OneHot', 'Sign'].map((opType) => ({
  opType,
  gradFn: (node) => node.inputs.map(() => null),
}));
