import type { GraphNode, Value } from '../../graph/builder.js';
import type { ReduceAttrs } from '../../graph/ops/common.js';
import { expand } from '../../graph/ops/expand.js';
import { mul } from '../../graph/ops/mul.js';
import { reshape } from '../../graph/ops/reshape.js';
import { reducedShape } from '../../graph/shape.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

function reducedAxes(node: GraphNode): readonly number[] | undefined {
  if (node.op.opType === 'ReduceSum') {
    const t = node.inputs[1] ? node.inputs[0]!.graph.literalOf(node.inputs[1]) : null;
    return t ? Array.from(t.data as BigInt64Array, Number) : undefined;
  }
  return (node.attrs as ReduceAttrs).axes;
}

/** dy broadcast back over the reduced axes. */
function spread(node: GraphNode, dy: Value): Value {
  const x = node.inputs[0]!;
  const kept = reducedShape(x.shape, reducedAxes(node), true);
  return expand(reshape(dy, kept), x.shape);
}

export const reduceSumGrad: GradRule = {
  opType: 'ReduceSum',
  gradFn: (node, dys) => [spread(node, outputGrad(node, dys)), null],
};

export const reduceMeanGrad: GradRule = {
  opType: 'ReduceMean',
  gradFn(node, dys) {
    const x = node.inputs[0]!;
    const count = x.size / node.outputs[0]!.size;
    return [spread(node, mul(outputGrad(node, dys), 1 / count))];
  },
};

export const reduceSumSquareGrad: GradRule = {
  opType: 'ReduceSumSquare',
  gradFn(node, dys) {
    return [mul(spread(node, mul(outputGrad(node, dys), 2)), node.inputs[0]!)];
  },
};

export const globalAveragePoolGrad: GradRule = {
  opType: 'GlobalAveragePool',
  gradFn(node, dys) {
    const x = node.inputs[0]!;
    const count = x.shape.slice(2).reduce((a, d) => a * d, 1);
    return [expand(mul(outputGrad(node, dys), 1 / count), x.shape)];
  },
};
