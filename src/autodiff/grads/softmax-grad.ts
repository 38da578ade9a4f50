import { exp } from '../../graph/ops/exp.js';
import { mul } from '../../graph/ops/mul.js';
import { reduceSum } from '../../graph/ops/reduce-sum.js';
import { sub } from '../../graph/ops/sub.js';
import type { AxisAttrs } from '../../graph/ops/common.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/** dx = y * (dy - sum(dy * y)). */
export const softmaxGrad: GradRule = {
  opType: 'Softmax',
  gradFn(node, dys) {
    const dy = outputGrad(node, dys);
    const y = node.outputs[0]!;
    const axis = (node.attrs as AxisAttrs).axis ?? -1;
    return [mul(y, sub(dy, reduceSum(mul(dy, y), [axis], true)))];
  },
};

/** dx = dy - softmax(x) * sum(dy), with softmax(x) = exp(logsoftmax(x)). */
export const logSoftmaxGrad: GradRule = {
  opType: 'LogSoftmax',
  gradFn(node, dys) {
    const dy = outputGrad(node, dys);
    const axis = (node.attrs as AxisAttrs).axis ?? -1;
    return [sub(dy, mul(exp(node.outputs[0]!), reduceSum(dy, [axis], true)))];
  },
};
