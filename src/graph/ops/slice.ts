import type { OpDef, Value } from '../builder.js';
import { normAxis } from '../shape.js';

/** ONNX Slice semantics for one axis: the clamped first index and the element count. */
export function sliceRange(dim: number, start: number, end: number, step: number): { first: number; count: number } {
  if (step === 0) throw new Error('Slice: step must not be 0');
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
    return { first: s, count: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = Math.min(Math.max(s, 0), dim - 1);
  e = Math.min(Math.max(e, -1), dim - 1);
  return { first: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

export interface SliceSpec {
  starts: readonly number[];
  ends: readonly number[];
  axes?: readonly number[];
  steps?: readonly number[];
}

const ints = (t: { data: unknown } | null | undefined) => (t ? Array.from(t.data as BigInt64Array, Number) : undefined);

export const SliceOp: OpDef<Record<string, never>> = {
  opType: 'Slice',
  attrKinds: {},
  infer([x], _attrs, [, startsC, endsC, axesC, stepsC]) {
    const starts = ints(startsC);
    const ends = ints(endsC);
    if (!starts || !ends) throw new Error('Slice needs constant starts and ends');
    const rank = x!.shape.length;
    const axes = ints(axesC) ?? starts.map((_, i) => i);
    const steps = ints(stepsC) ?? starts.map(() => 1);
    if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
      throw new Error(
        `Slice: starts, ends, axes and steps need one entry per sliced axis, got ${starts.length}, ${ends.length}, ${axes.length} and ${steps.length}`,
      );
    }
    const shape = [...x!.shape];
    axes.forEach((axis, i) => {
      const a = normAxis(axis, rank);
      shape[a] = sliceRange(x!.shape[a]!, starts[i]!, ends[i]!, steps[i]!).count;
    });
    return [{ dtype: x!.dtype, shape }];
  },
};

/**
 * ONNX Slice with constant bounds; negative steps reverse (rotations are built from them).
 * @example const flipped = slice(x, { starts: [-1], ends: [-(2 ** 62)], axes: [3], steps: [-1] });
 */
export function slice(x: Value, spec: SliceSpec): Value {
  const g = x.graph;
  const axes = spec.axes ?? spec.starts.map((_, i) => i);
  const steps = spec.steps ?? spec.starts.map(() => 1);
  return g.apply(SliceOp, [x, g.constI64(spec.starts), g.constI64(spec.ends), g.constI64(axes), g.constI64(steps)], {})[0]!;
}
