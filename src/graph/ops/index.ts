/**
 * Every op the builder knows: one file per op (its OpDef and typed builder function), re-exported here.
 * A new op is its file and a line below, plus its gradient rule in src/autodiff/grads (or a declaration in
 * grads/non-differentiable.ts) and a case in test/autodiff/op-gradients.test.ts: the autodiff tests fail until
 * every exported op type has a rule or a declaration, and every rule a finite-difference case.
 */
export * from './abs.js';
export * from './add.js';
export * from './arg-max.js';
export * from './batch-normalization.js';
export * from './cast.js';
export * from './concat.js';
export * from './conv-transpose.js';
export * from './conv.js';
export * from './div.js';
export * from './equal.js';
export * from './exp.js';
export * from './expand.js';
export * from './flatten.js';
export * from './gather-elements.js';
export * from './gather.js';
export * from './gemm.js';
export * from './global-average-pool.js';
export * from './greater.js';
export * from './identity.js';
export * from './log-softmax.js';
export * from './log.js';
export * from './matmul.js';
export * from './max.js';
export * from './mul.js';
export * from './neg.js';
export * from './one-hot.js';
export * from './pad.js';
export * from './pow.js';
export * from './reciprocal.js';
export * from './reduce-max.js';
export * from './reduce-mean.js';
export * from './reduce-sum-square.js';
export * from './reduce-sum.js';
export * from './relu.js';
export * from './reshape.js';
export * from './sign.js';
export * from './slice.js';
export * from './softmax.js';
export * from './sqrt.js';
export * from './squeeze.js';
export * from './sub.js';
export * from './transpose.js';
export * from './unsqueeze.js';
export * from './where.js';
export type { Operand } from './common.js';
