import type { GradRule } from '../rule.js';

/**
 * Ops whose outputs are integer, boolean or piecewise constant: no gradient flows through them.
 * Listing them explicitly keeps "missing rule" errors meaningful for every other op.
 */
export const nonDifferentiableGrads: readonly GradRule[] = ['ArgMax', 'Equal', 'Greater', 'OneHot', 'Sign'].map((opType) => ({
  opType,
  gradFn: (node) => node.inputs.map(() => null),
}));

/**
 * Ops the builders emit that have a derivative but deliberately no rule, because no graph differentiates through
 * them: ConvTranspose appears only inside Conv's input gradient, ReduceMax only where its result gets no gradient.
 * A zero rule would silently cut the gradient, so a path through one fails in `gradients` with "no gradient rule".
 * Every op type has either a rule in the table or an entry here (checked by the autodiff tests).
 */
export const OPS_WITHOUT_GRADIENT_RULE: readonly string[] = ['ConvTranspose', 'ReduceMax'];
