/**
 * Factories for the op families that differ only in their ONNX type: elementwise unary and binary ops, the
 * softmax-like ops (one axis, output shaped as the input) and the reductions over an `axes` attribute.
 */
import type { OpDef, TensorType, Value } from '../builder.js';
import { broadcastShapes, normAxis, reducedShape } from '../shape.js';

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

/** Attributes of the ops that work along one axis and keep the input's shape (Softmax, LogSoftmax). */
export interface AxisAttrs {
  axis?: number;
}

/**
 * The definition of an op that normalises along one axis (default: last) and returns the input's type.
 * @example export const SoftmaxOp = axisDef('Softmax');
 */
export function axisDef(opType: string): OpDef<AxisAttrs> {
  return {
    opType,
    attrKinds: { axis: 'int' },
    infer([x], attrs) {
      normAxis(attrs.axis ?? -1, x!.shape.length);
      return [x!];
    },
  };
}

/**
 * Applies an `axisDef` op along `axis`.
 * @example const p = applyAxis(SoftmaxOp, logits, -1);
 */
export function applyAxis(def: OpDef<AxisAttrs>, x: Value, axis: number): Value {
  return x.graph.apply(def, [x], { axis })[0]!;
}

/** Attributes of the reductions that take their axes as an attribute at opset 17 (all but ReduceSum). */
export interface ReduceAttrs {
  axes?: readonly number[];
  keepdims?: number;
}

/**
 * The output type of a reduction of `x` over `axes` (all axes when omitted or empty); `keepdims` as in ONNX (default 1).
 * @example reducedType({ dtype: 'float32', shape: [2, 3] }, [1], 0); // { dtype: 'float32', shape: [2] }
 */
export function reducedType(x: TensorType, axes: readonly number[] | undefined, keepdims: number | undefined): TensorType {
  return { dtype: x.dtype, shape: reducedShape(x.shape, axes, (keepdims ?? 1) === 1) };
}

/**
 * The definition of a reduction whose axes are an attribute.
 * @example export const ReduceMeanOp = reduceDef('ReduceMean');
 */
export function reduceDef(opType: string): OpDef<ReduceAttrs> {
  return {
    opType,
    attrKinds: { axes: 'ints', keepdims: 'int' },
    infer: ([x], attrs) => [reducedType(x!, attrs.axes, attrs.keepdims)],
  };
}

/**
 * Applies a `reduceDef` op; an omitted or empty `axes` reduces over all axes (ONNX's default when the attribute is absent).
 * @example const m = applyReduce(ReduceMeanOp, x, [0, 2, 3], true);
 */
export function applyReduce(def: OpDef<ReduceAttrs>, x: Value, axes: readonly number[] | undefined, keepdims: boolean): Value {
  return x.graph.apply(def, [x], { axes: axes?.length ? axes : undefined, keepdims: keepdims ? 1 : 0 })[0]!;
}
