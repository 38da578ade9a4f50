import type { Value } from '../../graph/builder.js';
import { pad } from '../../graph/ops/pad.js';
import { slice, sliceRange } from '../../graph/ops/slice.js';
import { normAxis } from '../../graph/shape.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

const ints = (g: Value['graph'], v: Value | null) => {
  const t = g.literalOf(v);
  return t ? Array.from(t.data as BigInt64Array, Number) : undefined;
};

/**
 * The gradient of a slice scatters dy back into zeros: reverse the axes taken with step -1, then zero-pad.
 * Steps other than +1/-1 are not needed by any model here and fail loudly.
 */
export const sliceGrad: GradRule = {
  opType: 'Slice',
  gradFn(node, dys) {
    const [x, startsV, endsV, axesV, stepsV] = node.inputs;
    const g = x!.graph;
    const starts = ints(g, startsV!)!;
    const ends = ints(g, endsV!)!;
    const axes = (ints(g, axesV ?? null) ?? starts.map((_, i) => i)).map((a) => normAxis(a, x!.rank));
    const steps = ints(g, stepsV ?? null) ?? starts.map(() => 1);
    let dy = outputGrad(node, dys);
    const begin = new Array<number>(x!.rank).fill(0);
    const end = new Array<number>(x!.rank).fill(0);
    const reversed: number[] = [];
    axes.forEach((axis, i) => {
      const dim = x!.shape[axis]!;
      const { first, count } = sliceRange(dim, starts[i]!, ends[i]!, steps[i]!);
      if (steps[i] === 1) {
        begin[axis] = first;
        end[axis] = dim - first - count;
      } else if (steps[i] === -1) {
        reversed.push(axis);
        begin[axis] = first - count + 1;
        end[axis] = dim - 1 - first;
      } else {
        throw new Error(`${node.name}: Slice gradient supports steps of 1 and -1, got ${steps[i]}`);
      }
    });
    if (reversed.length) {
      dy = slice(dy, { starts: reversed.map(() => -1), ends: reversed.map(() => -(2 ** 53)), axes: reversed, steps: reversed.map(() => -1) });
    }
    const dx = begin.some((p) => p !== 0) || end.some((p) => p !== 0) ? pad(dy, [...begin, ...end]) : dy;
    return [dx, null, null, null, null];
  },
};
