import type { GatherAttrs } from '../../graph/ops/gather.js';
import type { GatherElementsAttrs } from '../../graph/ops/gather-elements.js';
import { gemm } from '../../graph/ops/gemm.js';
import { mul } from '../../graph/ops/mul.js';
import { oneHot } from '../../graph/ops/one-hot.js';
import { reduceSum } from '../../graph/ops/reduce-sum.js';
import { reshape } from '../../graph/ops/reshape.js';
import { unsqueeze } from '../../graph/ops/unsqueeze.js';
import { normAxis } from '../../graph/shape.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/**
 * Gather along axis 0 (row lookup): the scatter-add of dy rows is one_hot(indices)^T @ dy, a single Gemm that
 * every runtime runs fast, instead of a ScatterND with accumulation.
 */
export const gatherGrad: GradRule = {
  opType: 'Gather',
  gradFn(node, dys) {
    const [data, indices] = node.inputs;
    const axis = normAxis((node.attrs as GatherAttrs).axis ?? 0, data!.rank);
    if (axis !== 0) throw new Error(`${node.name}: Gather gradient supports axis 0, got ${axis}`);
    const rows = data!.shape[0]!;
    const rest = data!.size / rows;
    const flatIdx = reshape(indices!, [indices!.size]);
    const dy = reshape(outputGrad(node, dys), [indices!.size, rest]);
    const dData = gemm(oneHot(flatIdx, rows), dy, null, { transA: 1 });
    return [reshape(dData, data!.shape), null];
  },
};

/** GatherElements (label selection): dData = sum over the gathered positions of one_hot(index) * dy. */
export const gatherElementsGrad: GradRule = {
  opType: 'GatherElements',
  gradFn(node, dys) {
    const [data, indices] = node.inputs;
    const axis = normAxis((node.attrs as GatherElementsAttrs).axis ?? 0, data!.rank);
    data!.shape.forEach((d, i) => {
      if (i !== axis && d !== indices!.shape[i]) {
        throw new Error(`${node.name}: GatherElements gradient needs indices matching data outside axis ${axis}`);
      }
    });
    const hot = oneHot(indices!, data!.shape[axis]!, axis + 1);
    const dData = reduceSum(mul(hot, unsqueeze(outputGrad(node, dys), [axis + 1])), [axis], false);
    return [dData, null];
  },
};
