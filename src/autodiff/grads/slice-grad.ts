import type { Value } from '../../graph/builder.js';
import { pad } from '../../graph/ops/pad.js';
import { reshape } from '../../graph/ops/reshape.js';
import { unsqueeze } from '../../graph/ops/unsqueeze.js';
import { slice, sliceRange } from '../../graph/ops/slice.js';
import { normAxis } from '../../graph/shape.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

const ints = (g: Value['graph'], v: Value | null) => {
  const t = g.literalOf(v);
  return t ? Array.from(t.data as BigInt64Array, Number) : undefined;
};

/**
 * Spreads `count` entries along `axis` to every `step`-th position ((count - 1) * step + 1 long, zeros between):
 * Unsqueeze, zero-pad the new axis to `step`, Reshape, trim the trailing zeros.
 */
function dilate(dy: Value, axis: number, step: number): Value {
  const count = dy.shape[axis]!;
  const rank = dy.rank + 1;
  const pads = new Array<number>(2 * rank).fill(0);
  pads[rank + axis + 1] = step - 1;
  const widened = pad(unsqueeze(dy, [axis + 1]), pads);
  const merged = reshape(
    widened,
    dy.shape.map((d, i) => (i === axis ? d * step : d)),
  );
  return slice(merged, { starts: [0], ends: [(count - 1) * step + 1], axes: [axis] });
}

/**
 * The gradient of a slice scatters dy back into zeros: reverse the axes taken with negative steps, spread strided
 * axes out (zeros between the taken positions), then zero-pad to the input's extent.
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
    const strided: [number, number][] = [];
    axes.forEach((axis, i) => {
      const dim = x!.shape[axis]!;
      const { first, count } = sliceRange(dim, starts[i]!, ends[i]!, steps[i]!);
      const step = steps[i]!;
      const span = count === 0 ? 0 : (count - 1) * Math.abs(step) + 1;
      // The lowest input index the slice touches; a negative step walks down from `first`.
      const low = step > 0 ? first : first - span + 1;
      if (step < 0) reversed.push(axis);
      if (Math.abs(step) > 1) strided.push([axis, Math.abs(step)]);
      begin[axis] = low;
      end[axis] = dim - low - span;
    });
    if (reversed.length) {
      dy = slice(dy, { starts: reversed.map(() => -1), ends: reversed.map(() => -(2 ** 53)), axes: reversed, steps: reversed.map(() => -1) });
    }
    for (const [axis, step] of strided) dy = dilate(dy, axis, step);
    const dx = begin.some((p) => p !== 0) || end.some((p) => p !== 0) ? pad(dy, [...begin, ...end]) : dy;
    return [dx, null, null, null, null];
  },
};
