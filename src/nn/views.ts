/**
 * Augmented views of an NCHW batch built inside the graph (for SPB-I's contrastive variant): horizontal flips and
 * translations by zero padding + cropping. On top of the data pipeline's random crop and flip, the views of one
 * image differ from each other by fixed, exact transforms.
 */
import type { Value } from '../graph/builder.js';
import { concat, pad, slice } from '../graph/ops/index.js';
import { flipAxis } from './rotations.js';

/**
 * `x` moved by (dy, dx) pixels (positive: down / right), zero-filled where it moved away from.
 * @example const moved = shiftImage(x, 2, -2);
 */
export function shiftImage(x: Value, dy: number, dx: number): Value {
  if (dy === 0 && dx === 0) return x;
  const [, , h, w] = x.shape as [number, number, number, number];
  const p = Math.max(Math.abs(dy), Math.abs(dx));
  const padded = pad(x, [0, 0, p, p, 0, 0, p, p]);
  return slice(padded, { starts: [p - dy, p - dx], ends: [p - dy + h, p - dx + w], axes: [2, 3] });
}

/** One view: optional horizontal flip after a shift. */
export interface ViewTransform {
  flip: boolean;
  dy: number;
  dx: number;
}

/**
 * The first `count` view transforms for shift `s`: identity, flip, shift (+s, +s), flip + shift (-s, -s),
 * shift (+s, -s), flip + shift (-s, +s).
 * @example viewTransforms(4, 2);
 */
export function viewTransforms(count: number, s: number): ViewTransform[] {
  const all: ViewTransform[] = [
    { flip: false, dy: 0, dx: 0 },
    { flip: true, dy: 0, dx: 0 },
    { flip: false, dy: s, dx: s },
    { flip: true, dy: -s, dx: -s },
    { flip: false, dy: s, dx: -s },
    { flip: true, dy: -s, dx: s },
  ];
  if (!Number.isInteger(count) || count < 2 || count > all.length) throw new Error(`contrastive views: 2 to ${all.length}, got ${count}`);
  return all.slice(0, count);
}

/**
 * The views of a batch concatenated along the batch: rows v*N .. (v+1)*N - 1 hold view v (view 0 is `x` itself).
 * @example const views = augmentedViews(x, 4, 2); // [4N, C, H, W]
 */
export function augmentedViews(x: Value, count: number, shift: number): Value {
  const parts = viewTransforms(count, shift).map((t) => {
    const moved = shiftImage(x, t.dy, t.dx);
    return t.flip ? flipAxis(moved, 3) : moved;
  });
  return concat(parts, 0);
}
