/**
 * Quarter-turn rotations of NCHW batches inside a graph, from Transpose and negative-step Slices (exact: pure data
 * movement, and their gradients are the inverse movements). Rotation k turns the image k * 90 degrees
 * counter-clockwise, as `torch.rot90(x, k, dims=(2, 3))` and `numpy.rot90`: out[i][j] = in[j][W-1-i] for k = 1.
 * SPB-M's rotation heads and SPB-I's rotation prediction build on them; the benchmark imports them too.
 */
import type { Value } from '../graph/builder.js';
import { concat, reshape, slice, transpose } from '../graph/ops/index.js';

/** Number of distinct quarter-turn rotations. */
export const QUARTER_TURNS = 4;

const REVERSED = { starts: [-1], ends: [-(2 ** 53)], steps: [-1] } as const;

/**
 * `x` reversed along `axis` (Slice with step -1).
 * @example const mirrored = flipAxis(x, 3); // horizontal flip of NCHW
 */
export function flipAxis(x: Value, axis: number): Value {
  return slice(x, { ...REVERSED, axes: [axis] });
}

/** H and W of NCHW swapped. */
function swapHW(x: Value): Value {
  return transpose(x, [0, 1, 3, 2]);
}

/**
 * `x` [N, C, H, W] rotated by k quarter turns counter-clockwise (k mod 4; 90 and 270 degrees need H = W).
 * @example const r90 = rotateQuarter(x, 1);
 */
export function rotateQuarter(x: Value, k: number): Value {
  const q = ((k % QUARTER_TURNS) + QUARTER_TURNS) % QUARTER_TURNS;
  if (q % 2 === 1 && x.shape[2] !== x.shape[3]) throw new Error(`rotating by ${q * 90} degrees needs square images; got ${x.shape[2]}x${x.shape[3]}`);
  if (q === 0) return x;
  if (q === 1) return swapHW(flipAxis(x, 3));
  if (q === 2) return flipAxis(flipAxis(x, 3), 2);
  return flipAxis(swapHW(x), 3);
}

/**
 * The rotations `rotations` (default 0, 90, 180, 270 degrees) of an NCHW batch, concatenated along the batch:
 * rows b*N .. (b+1)*N - 1 hold rotation rotations[b]. Works with a dynamic batch.
 * @example const all = fourRotations(x); // [4N, C, H, W]
 */
export function fourRotations(x: Value, rotations: readonly number[] = [0, 1, 2, 3]): Value {
  const parts = rotations.map((k) => rotateQuarter(x, k));
  return parts.length === 1 ? parts[0]! : concat(parts, 0);
}

/**
 * The batch split into four contiguous quarters (sizes differ by at most one), quarter q rotated by q quarter
 * turns, and the rotation label of every row. With shuffled batches this gives each image a random angle while
 * every batch holds the four angles equally often (deterministic, so resumed runs repeat it exactly).
 * @example const { rotated, labels } = rotateByQuarters(x); // labels: [0, 0, ..., 3, 3]
 */
export function rotateByQuarters(x: Value): { rotated: Value; labels: number[] } {
  const n = x.shape[0]!;
  if (!(n > 0)) throw new Error('rotateByQuarters needs a static batch size');
  const parts: Value[] = [];
  const labels: number[] = [];
  for (let q = 0; q < QUARTER_TURNS; q++) {
    const start = Math.round((q * n) / QUARTER_TURNS);
    const end = Math.round(((q + 1) * n) / QUARTER_TURNS);
    if (end <= start) continue;
    parts.push(rotateQuarter(slice(x, { starts: [start], ends: [end], axes: [0] }), q));
    for (let i = start; i < end; i++) labels.push(q);
  }
  return { rotated: parts.length === 1 ? parts[0]! : concat(parts, 0), labels };
}

/**
 * Rows of copy `index` of `count` copies stacked along the batch ([count*N, ...] -> [N, ...]); works with a
 * dynamic N (Reshape to [count, -1, ...], Slice, Reshape back).
 * @example const f90 = copyOf(features, 1, 4); // features of the images rotated by 90 degrees
 */
export function copyOf(stacked: Value, index: number, count: number): Value {
  if (count === 1) return stacked;
  const rest = stacked.shape.slice(1);
  const split = reshape(stacked, [count, -1, ...rest]);
  return reshape(slice(split, { starts: [index], ends: [index + 1], axes: [0] }), [-1, ...rest]);
}
