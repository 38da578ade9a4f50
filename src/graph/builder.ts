/**
 * The graph builder: symbolic tensors with static shapes and dtypes, shape inference per op,
 * scoped deterministic names, named initializers and deduplicated constants. Every ONNX file
 * onnx-cil writes is assembled here.
 */
import {
  AttrType,
  dtypeToCode,
  makeTensorProto,
  type AttributeProto,
  type DType,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-proto.js';

/** Default opset and IR version: old enough for Debian's onnx checker and Netron, new enough for training-mode ops. */
export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

/** A dimension of -1 is dynamic (only allowed in inference graphs, e.g. the batch of an exported model). */
export type Shape = readonly number[];

export type TypedData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Float64Array;

export type AttrKind = 'int' | 'float' | 'ints' | 'floats' | 'string' | 'tensor';
export type AttrValue = number | readonly number[] | string | ConstTensor;
export type Attrs = Readonly<Record<string, AttrValue | undefined>>;

/** A literal tensor (attribute payload or initializer content). */
export interface ConstTensor {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: TypedData;
}

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * One op: its ONNX type, attribute kinds (ONNX distinguishes ints from floats, JS does not)
 * and its shape rule. Op files export one of these plus a typed builder function.
 */
export interface OpDef<A extends object = Attrs> {
  readonly opType: string;
  readonly domain?: string;
  readonly attrKinds: Readonly<Record<string, AttrKind>>;
  /** Output types from input types; throws on invalid combinations. `inputs` keeps nulls for omitted optional inputs. */
  infer(inputs: readonly (TensorType | null)[], attrs: A, constInputs: readonly (ConstTensor | null)[]): TensorType[];
}

/** A symbolic tensor: the output of a node, a graph input or an initializer. */
export class Value implements TensorType {
  constructor(
    readonly graph: GraphBuilder,
    /** Deterministic; fixed once the value is an output (GraphBuilder.output may rename a node output once). */
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    /** The node that produces it; null for graph inputs and initializers. */
    readonly producer: GraphNode | null,
  ) {}

  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return this.shape.reduce((a, d) => a * d, 1);
  }
  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape.join(', ')}]`;
  }
}

export interface GraphNode {
  readonly name: string;
  readonly op: OpDef<object>;
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attrs: object;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Number of elements of a tensor of this shape (1 for a scalar).
 * @example sizeOf([2, 3, 4]); // 24
 */
export function sizeOf(shape: Shape): number {
  return shape.reduce((a, d) => a * d, 1);
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function bytesOf(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Creates a literal tensor, checking the element count. */
export function constTensor(dtype: DType, shape: Shape, data: TypedData): ConstTensor {
  if (data.length !== sizeOf(shape)) {
    throw new Error(`constant of shape ${shapeToString(shape)} needs ${sizeOf(shape)} values, got ${data.length}`);
  }
  return { dtype, shape: [...shape], data };
}

/**
 * Builds one ONNX graph.
 * @example
 * const b = new GraphBuilder('mlp');
 * const x = b.input('x', 'float32', [8, 4]);
 * const w = b.initializer('fc.weight', constTensor('float32', [4, 2], new Float32Array(8)));
 * b.output(matmul(x, w), 'y');
 * const bytes = encodeModel(b.toModel());
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: { value: Value; name: string; doc?: string }[] = [];
  readonly initializers = new Map<string, { value: Value; tensor: ConstTensor }>();
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, Value[]>();
  private readonly scopes: string[] = [];
  private nodeCounter = 0;
  private constCounter = 0;

  constructor(
    readonly name = 'graph',
    readonly opset = DEFAULT_OPSET,
  ) {}

  /** Runs `fn` with `prefix` added to the scope of every name created inside ("layer1.0.conv1.weight"). */
  scope<T>(prefix: string, fn: () => T): T {
    this.scopes.push(prefix);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** The current scope joined with dots, e.g. "layer1.0". */
  get scopePath(): string {
    return this.scopes.join('.');
  }

  /** `name` inside the current scope. */
  scoped(name: string): string {
    return this.scopes.length ? `${this.scopePath}.${name}` : name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate value name "${name}" in graph ${this.name}`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input. Names are used as given (not scoped): they are the graph's public interface. */
  input(name: string, dtype: DType, shape: Shape): Value {
    const v = new Value(this, this.claim(name), dtype, [...shape], null);
    this.inputs.push(v);
    return v;
  }

  /** Declares a named initializer (a weight stored in the file); its name is scoped unless `absolute`. */
  initializer(name: string, tensor: ConstTensor, opts: { absolute?: boolean } = {}): Value {
    const full = this.claim(opts.absolute ? name : this.scoped(name));
    const v = new Value(this, full, tensor.dtype, [...tensor.shape], null);
    this.initializers.set(full, { value: v, tensor });
    return v;
  }

  /** A literal constant, stored once however often it is requested. */
  constant(tensor: ConstTensor): Value {
    const bytes = bytesOf(tensor.data);
    const key = `${tensor.dtype}|${tensor.shape.join(',')}|${fnv1a(bytes)}`;
    const bucket = this.constCache.get(key) ?? [];
    for (const v of bucket) {
      if (sameBytes(bytesOf(this.initializers.get(v.name)!.tensor.data), bytes)) return v;
    }
    const name = this.claim(`const_${this.constCounter++}`);
    const v = new Value(this, name, tensor.dtype, [...tensor.shape], null);
    this.initializers.set(name, { value: v, tensor });
    bucket.push(v);
    this.constCache.set(key, bucket);
    return v;
  }

  /** float32 constant from numbers (scalar when `shape` is omitted). */
  constF32(values: number | readonly number[], shape?: Shape): Value {
    const arr = typeof values === 'number' ? [values] : values;
    return this.constant(constTensor('float32', shape ?? (typeof values === 'number' ? [] : [arr.length]), Float32Array.from(arr)));
  }

  /** int64 constant from numbers (1-D unless `shape` says otherwise). */
  constI64(values: number | readonly number[], shape?: Shape): Value {
    const arr = typeof values === 'number' ? [values] : values;
    return this.constant(constTensor('int64', shape ?? (typeof values === 'number' ? [] : [arr.length]), BigInt64Array.from(arr.map((v) => BigInt(v)))));
  }

  /** The literal behind a value, when it is a constant or initializer. */
  literalOf(v: Value | null): ConstTensor | null {
    if (!v) return null;
    return this.initializers.get(v.name)?.tensor ?? null;
  }

  /**
   * Adds a node. Shape inference runs here, so a bad shape fails at build time with the node's name.
   * Op files wrap this in typed functions; callers rarely use it directly.
   */
  apply<A extends object>(op: OpDef<A>, inputs: readonly (Value | null | undefined)[], attrs: A, outputNames?: readonly string[]): Value[] {
    const ins = inputs.map((v) => v ?? null);
    // Trailing omitted optional inputs are dropped, as ONNX expects.
    while (ins.length && ins[ins.length - 1] === null) ins.pop();
    for (const v of ins) {
      if (v && v.graph !== this) throw new Error(`value ${v.name} belongs to another graph`);
    }
    const nodeName = this.scopes.length ? `${this.scopes.join('/')}/${op.opType}_${this.nodeCounter++}` : `${op.opType}_${this.nodeCounter++}`;
    let types: TensorType[];
    try {
      types = op.infer(
        ins.map((v) => (v ? { dtype: v.dtype, shape: v.shape } : null)),
        attrs,
        ins.map((v) => this.literalOf(v)),
      );
    } catch (err) {
      const desc = ins.map((v) => (v ? `${v.dtype}${shapeToString(v.shape)}` : 'none')).join(', ');
      throw new Error(`${nodeName}: ${(err as Error).message} (inputs: ${desc})`);
    }
    const outputs = types.map(
      (t, i) => new Value(this, this.claim(outputNames?.[i] ?? (types.length === 1 ? nodeName : `${nodeName}:${i}`)), t.dtype, t.shape, null),
    );
    const node: GraphNode = { name: nodeName, op: op as OpDef<object>, inputs: ins, outputs, attrs };
    for (const o of outputs) (o as { producer: GraphNode | null }).producer = node;
    this.nodes.push(node);
    return outputs;
  }

  /** Marks `value` as a graph output named `name` (an Identity node renames it when needed). */
  output(value: Value, name: string = value.name, doc?: string): Value {
    let v = value;
    const alreadyOutput = this.outputs.some((o) => o.value === value);
    if (name !== value.name && value.producer !== null && !alreadyOutput && !this.names.has(name)) {
      // Renaming a node's own output avoids an Identity node (one copy, and one kernel launch on GPUs, per output).
      this.names.delete(value.name);
      (value as { name: string }).name = this.claim(name);
    } else if (name !== value.name || alreadyOutput || value.producer === null) {
      v = this.apply(IdentityOp, [value], {}, [name])[0]!;
    }
    this.outputs.push({ value: v, name, doc });
    return v;
  }

  /** The ONNX model. Only nodes that some output depends on are kept, so unused gradient branches vanish. */
  toModel(opts: { docString?: string; metadata?: Record<string, string>; irVersion?: number; dynamicDims?: Record<string, number[]> } = {}): ModelProto {
    const live = this.liveNodes();
    const usedNames = new Set<string>();
    for (const n of live) for (const i of n.inputs) if (i) usedNames.add(i.name);
    for (const o of this.outputs) usedNames.add(o.value.name);
    const initializer: TensorProto[] = [];
    for (const [name, { tensor }] of this.initializers) {
      if (usedNames.has(name)) initializer.push(makeTensorProto(name, tensor.dtype, tensor.shape, tensor.data));
    }
    const dyn = opts.dynamicDims ?? {};
    return {
      ir_version: opts.irVersion ?? DEFAULT_IR_VERSION,
      opset_import: [{ domain: '', version: this.opset }],
      producer_name: 'onnx-cil',
      producer_version: '0.1.0',
      doc_string: opts.docString,
      graph: {
        name: this.name,
        node: live.map(nodeToProto),
        initializer,
        input: this.inputs.filter((v) => usedNames.has(v.name) || true).map((v) => valueInfo(v.name, v, undefined, dyn[v.name])),
        output: this.outputs.map((o) => valueInfo(o.name, o.value, o.doc, dyn[o.name])),
      },
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  /** Nodes needed by the outputs, in build (topological) order. */
  liveNodes(): GraphNode[] {
    const needed = new Set<GraphNode>();
    const stack: Value[] = this.outputs.map((o) => o.value);
    while (stack.length) {
      const v = stack.pop()!;
      const n = v.producer;
      if (!n || needed.has(n)) continue;
      needed.add(n);
      for (const i of n.inputs) if (i) stack.push(i);
    }
    return this.nodes.filter((n) => needed.has(n));
  }
}

function valueInfo(name: string, t: TensorType, doc: string | undefined, dynamic: number[] | undefined): ValueInfoProto {
  return {
    name,
    doc_string: doc,
    type: {
      tensor_type: {
        elem_type: dtypeToCode(t.dtype),
        shape: {
          dim: t.shape.map((d, i) => (d < 0 || dynamic?.includes(i) ? { dim_param: i === 0 ? 'batch' : `d${i}` } : { dim_value: d })),
        },
      },
    },
  };
}

function attrToProto(name: string, kind: AttrKind, value: AttrValue): AttributeProto {
  switch (kind) {
    case 'int':
      return { name, type: AttrType.INT, i: value as number };
    case 'float':
      return { name, type: AttrType.FLOAT, f: value as number };
    case 'ints':
      return { name, type: AttrType.INTS, ints: [...(value as number[])] };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: [...(value as number[])] };
    case 'string':
      return { name, type: AttrType.STRING, s: new TextEncoder().encode(value as string) };
    case 'tensor': {
      const t = value as ConstTensor;
      return { name, type: AttrType.TENSOR, t: makeTensorProto(name, t.dtype, t.shape, t.data) };
    }
  }
}

function nodeToProto(n: GraphNode): NodeProto {
  const attribute: AttributeProto[] = [];
  for (const [key, value] of Object.entries(n.attrs) as [string, AttrValue | undefined][]) {
    if (value === undefined) continue;
    const kind = n.op.attrKinds[key];
    if (!kind) throw new Error(`${n.name}: attribute "${key}" is not declared by op ${n.op.opType}`);
    attribute.push(attrToProto(key, kind, value));
  }
  return {
    name: n.name,
    op_type: n.op.opType,
    domain: n.op.domain ?? '',
    input: n.inputs.map((v) => v?.name ?? ''),
    output: n.outputs.map((v) => v.name),
    attribute,
  };
}

/** Identity lives here because the builder needs it for renaming outputs. */
export const IdentityOp: OpDef<Record<string, never>> = {
  opType: 'Identity',
  attrKinds: {},
  infer: ([x]) => [x!],
};
