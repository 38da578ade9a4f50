/** Every op the builder knows, as typed builder functions and as a frozen registry by ONNX op type. */
import type { OpDef } from '../builder.js';
import * as m_abs from './abs.js';
import * as m_add from './add.js';
import * as m_arg_max from './arg-max.js';
import * as m_batch_normalization from './batch-normalization.js';
import * as m_cast from './cast.js';
import * as m_concat from './concat.js';
import * as m_conv_transpose from './conv-transpose.js';
import * as m_conv from './conv.js';
import * as m_div from './div.js';
import * as m_equal from './equal.js';
import * as m_exp from './exp.js';
import * as m_expand from './expand.js';
import * as m_flatten from './flatten.js';
import * as m_gather_elements from './gather-elements.js';
import * as m_gather from './gather.js';
import * as m_gemm from './gemm.js';
import * as m_global_average_pool from './global-average-pool.js';
import * as m_greater from './greater.js';
import * as m_identity from './identity.js';
import * as m_log_softmax from './log-softmax.js';
import * as m_log from './log.js';
import * as m_matmul from './matmul.js';
import * as m_max from './max.js';
import * as m_mul from './mul.js';
import * as m_neg from './neg.js';
import * as m_one_hot from './one-hot.js';
import * as m_pad from './pad.js';
import * as m_pow from './pow.js';
import * as m_reciprocal from './reciprocal.js';
import * as m_reduce_max from './reduce-max.js';
import * as m_reduce_mean from './reduce-mean.js';
import * as m_reduce_sum_square from './reduce-sum-square.js';
import * as m_reduce_sum from './reduce-sum.js';
import * as m_relu from './relu.js';
import * as m_reshape from './reshape.js';
import * as m_sign from './sign.js';
import * as m_slice from './slice.js';
import * as m_softmax from './softmax.js';
import * as m_sqrt from './sqrt.js';
import * as m_squeeze from './squeeze.js';
import * as m_sub from './sub.js';
import * as m_transpose from './transpose.js';
import * as m_unsqueeze from './unsqueeze.js';
import * as m_where from './where.js';

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
export { type Operand } from './common.js';

const modules = [
  m_abs,
  m_add,
  m_arg_max,
  m_batch_normalization,
  m_cast,
  m_concat,
  m_conv_transpose,
  m_conv,
  m_div,
  m_equal,
  m_exp,
  m_expand,
  m_flatten,
  m_gather_elements,
  m_gather,
  m_gemm,
  m_global_average_pool,
  m_greater,
  m_identity,
  m_log_softmax,
  m_log,
  m_matmul,
  m_max,
  m_mul,
  m_neg,
  m_one_hot,
  m_pad,
  m_pow,
  m_reciprocal,
  m_reduce_max,
  m_reduce_mean,
  m_reduce_sum_square,
  m_reduce_sum,
  m_relu,
  m_reshape,
  m_sign,
  m_slice,
  m_softmax,
  m_sqrt,
  m_squeeze,
  m_sub,
  m_transpose,
  m_unsqueeze,
  m_where,
];

function isOpDef(x: unknown): x is OpDef<any> {
  return typeof x === 'object' && x !== null && typeof (x as OpDef).opType === 'string' && typeof (x as OpDef).infer === 'function';
}

/** Op definitions by ONNX op type. */
export const OP_REGISTRY: ReadonlyMap<string, OpDef<any>> = new Map(
  modules.flatMap((m) => Object.values(m).filter(isOpDef)).map((def) => [def.opType, def] as const),
);
Object.freeze(OP_REGISTRY);
