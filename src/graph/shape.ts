/** Shape arithmetic shared by the ops' shape rules and their gradients. */
import type { Shape } from './builder.js';

/** NumPy-style broadcast of two shapes; throws when they are incompatible. -1 (dynamic) broadcasts with anything. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (da < 0 || db < 0) out.push(Math.max(da, db) < 0 ? -1 : Math.max(da, db));
    else throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
  }
  return out;
}

/** Normalises a possibly negative axis against `rank`. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Shape after reducing `axes` (all axes when empty). */
export function reducedShape(shape: Shape, axes: readonly number[] | undefined, keepdims: boolean): number[] {
  const rank = shape.length;
  const set = new Set((axes?.length ? axes : shape.map((_, i) => i)).map((a) => normAxis(a, rank)));
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (set.has(i)) {
      if (keepdims) out.push(1);
    } else out.push(d);
  });
  return out;
}

export function assertStatic(shape: Shape, what: string): void {
  if (shape.some((d) => d < 0)) throw new Error(`${what} needs a static shape, got [${shape.join(', ')}]`);
}
