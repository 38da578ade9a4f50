/** Factories for the many ops whose shape rule is "same as input" or "broadcast of inputs". */
import type { OpDef, TensorType, Value } from '../builder.js';
import { broadcastShapes } from '../shape.js';

/** Operand that may be a JS number, turned into a scalar constant of `like`'s dtype. */
export type Operand = Value | number;

export function toValue(like: Value, x: Operand): Value {
  if (typeof x !== 'number') return x;
  const g = like.graph;
  if (like.dtype === 'float32') return g.constF32(x);
  if (like.dtype === 'int64') return g.constI64(x);
  throw new Error(`cannot make a ${like.dtype} constant from a number`);
}

/** The graph of the first operand that is a Value. */
export function pickValue(...xs: Operand[]): Value {
  const v = xs.find((x): x is Value => typeof x !== 'number');
  if (!v) throw new Error('at least one operand must be a graph value');
  return v;
}

export function unaryDef(opType: string): OpDef<Record<string, never>> {
  return { opType, attrKinds: {}, infer: ([x]) => [x!] };
}

export function binaryDef(opType: string, outDtype?: 'bool'): OpDef<Record<string, never>> {
  return {
    opType,
    attrKinds: {},
    infer: ([a, b]) => {
      if (a!.dtype !== b!.dtype) throw new Error(`${opType} needs equal dtypes, got ${a!.dtype} and ${b!.dtype}`);
      return [{ dtype: outDtype ?? a!.dtype, shape: broadcastShapes(a!.shape, b!.shape) }];
    },
  };
}

export function applyBinary(def: OpDef<Record<string, never>>, a: Operand, b: Operand): Value {
  const ref = pickValue(a, b);
  return ref.graph.apply(def, [toValue(ref, a), toValue(ref, b)], {})[0]!;
}

export function applyUnary(def: OpDef<Record<string, never>>, x: Value): Value {
  return x.graph.apply(def, [x], {})[0]!;
}

export function single(t: TensorType): TensorType[] {
  return [t];
}
