/**
 * Where a model's parameters come from when a graph is built: graph inputs (training state fed each step) or
 * initializers (checkpoints, exported models, the frozen teacher inside a class-incremental training graph).
 */
import { constTensor, sizeOf, type GraphBuilder, type Shape, type Value } from '../graph/builder.js';
import { reshape, slice } from '../graph/ops/index.js';
import { SeededRandom } from '../util/rng.js';

/** How a parameter is initialised when no saved value exists. */
export type Init = { kind: 'kaiming-normal-fan-out' } | { kind: 'constant'; value: number } | { kind: 'uniform'; bound: number };

/** trainable: updated by the optimiser; buffer: updated by the graph itself (BatchNorm running statistics). */
export type ParamKind = 'trainable' | 'buffer';

export interface ParamInfo {
  readonly name: string;
  readonly shape: Shape;
  readonly kind: ParamKind;
  /** Learning-rate group, e.g. "backbone" or "classifier". */
  readonly group: string;
  readonly init: Init;
}

/** Named float32 tensors: weights, buffers and optimiser state. */
export type StateDict = Map<string, Float32Array>;

/** How BatchNorm behaves in a graph: batch statistics (train), running statistics (eval), or running statistics with trained affine parameters (frozen). */
export type BatchNormMode = 'train' | 'eval' | 'frozen';

/**
 * How training-mode BatchNorm is built: one ONNX BatchNormalization in training mode with a closed-form gradient
 * rule (`fused`, the default: resnet32 step +5%, convnet +7.5% on CPU), or from primitives that autodiff
 * differentiates (`primitives`, for CUDA graphs: onnxruntime's CUDA kernel refuses training mode).
 */
export type BatchNormKernel = 'fused' | 'primitives';

/**
 * The parameter interface layers build against.
 * @example const w = params.param('conv1.weight', [16, 3, 3, 3], { kind: 'kaiming-normal-fan-out' });
 */
export interface ParamSource {
  readonly graph: GraphBuilder;
  readonly bnMode: BatchNormMode;
  /** Formulation of training-mode BatchNorm (default fused). */
  batchNormKernel?: BatchNormKernel;
  /** Learning-rate group of parameters created now (layers inherit it from the caller). */
  group: string;
  param(name: string, shape: Shape, init: Init): Value;
  buffer(name: string, shape: Shape, init: Init): Value;
  /** Registers the value a buffer takes after this step (training graphs only; ignored elsewhere). */
  updateBuffer(buffer: Value, next: Value): void;
}

/** Deterministic initial values for a parameter (seeded per parameter name, so adding a layer does not shift others). */
export function initialValue(info: Pick<ParamInfo, 'name' | 'shape' | 'init'>, seed: number): Float32Array {
  const size = sizeOf(info.shape);
  const out = new Float32Array(size);
  const init = info.init;
  if (init.kind === 'constant') return out.fill(init.value);
  let h = seed >>> 0;
  for (let i = 0; i < info.name.length; i++) h = Math.imul(h ^ info.name.charCodeAt(i), 0x01000193) >>> 0;
  const rng = new SeededRandom(h);
  if (init.kind === 'uniform') {
    for (let i = 0; i < size; i++) out[i] = (rng.nextFloat() * 2 - 1) * init.bound;
    return out;
  }
  // Kaiming normal, fan_out mode, ReLU gain (PyTorch's kaiming_normal_(mode='fan_out', nonlinearity='relu')).
  const fanOut = info.shape[0]! * sizeOf(info.shape.slice(2));
  const std = Math.sqrt(2 / fanOut);
  for (let i = 0; i < size; i += 2) {
    const u1 = 1 - rng.nextFloat();
    const u2 = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < size) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Shared bookkeeping of parameter sources that build graph values for parameters the forward declares. */
abstract class DeclaredParams implements ParamSource {
  readonly infos = new Map<string, ParamInfo>();
  readonly values = new Map<string, Value>();
  readonly bufferUpdates = new Map<string, Value>();
  group = 'backbone';
  batchNormKernel: BatchNormKernel = 'fused';

  constructor(
    readonly graph: GraphBuilder,
    readonly bnMode: BatchNormMode,
    /** Parameters that get no gradient and are fed as-is (e.g. a frozen backbone). */
    readonly frozen: (name: string) => boolean = () => false,
  ) {}

  /** The graph value that stands for parameter `name` (full, scoped name). */
  protected abstract valueFor(name: string, shape: Shape): Value;

  private declare(name: string, shape: Shape, init: Init, kind: ParamKind): Value {
    const full = this.graph.scoped(name);
    const existing = this.values.get(full);
    if (existing) return existing;
    const v = this.valueFor(full, shape);
    this.infos.set(full, { name: full, shape: [...shape], kind, group: this.group, init });
    this.values.set(full, v);
    return v;
  }
  param(name: string, shape: Shape, init: Init): Value {
    return this.declare(name, shape, init, 'trainable');
  }
  buffer(name: string, shape: Shape, init: Init): Value {
    return this.declare(name, shape, init, 'buffer');
  }
  updateBuffer(buffer: Value, next: Value): void {
    const name = [...this.values].find(([, v]) => v === buffer)?.[0];
    if (!name) throw new Error('updateBuffer: not a buffer of this parameter source');
    this.bufferUpdates.set(name, next);
  }
  /** Trainable parameters that receive gradients. */
  trainable(): ParamInfo[] {
    return [...this.infos.values()].filter((p) => p.kind === 'trainable' && !this.frozen(p.name));
  }
}

/** Parameters as graph inputs (evaluation graphs share the training state by name; also the layout probe). */
export class InputParams extends DeclaredParams {
  protected valueFor(name: string, shape: Shape): Value {
    return this.graph.input(name, 'float32', shape);
  }
}

/** Where one state tensor lives inside the packed state vector. */
export interface StateSlot {
  readonly name: string;
  readonly shape: Shape;
  readonly offset: number;
  readonly size: number;
}

/**
 * Parameters as slices of one packed float32 state input. A training step then moves its whole state in one tensor
 * each way instead of one per parameter: on a GPU each transfer has a fixed cost (measured on an H200: 268
 * separate state tensors took 12.1 ms per step down and back, the packed state 2.9 ms).
 */
export class PackedParams extends DeclaredParams {
  constructor(
    graph: GraphBuilder,
    bnMode: BatchNormMode,
    /** The packed state input [total]. */
    readonly state: Value,
    private readonly slots: ReadonlyMap<string, StateSlot>,
    frozen: (name: string) => boolean = () => false,
  ) {
    super(graph, bnMode, frozen);
  }

  /** The slot's slice of the packed state, flat. */
  flat(name: string): Value {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`state "${name}" is not in the packed layout`);
    return slice(this.state, { starts: [slot.offset], ends: [slot.offset + slot.size], axes: [0] });
  }

  protected valueFor(name: string, shape: Shape): Value {
    if (!this.slots.has(name)) {
      throw new Error(`parameter "${name}" was not declared when the state layout was made (the forward must be deterministic)`);
    }
    return this.graph.scope(name, () => reshape(this.flat(name), shape));
  }
}

/**
 * Parameters as named initializers holding given values (checkpoints, exports, frozen teachers).
 * `prefix` namespaces them inside a graph that also holds other parameters ("teacher." for the old extractor).
 */
export class ConstantParams implements ParamSource {
  group = 'backbone';
  readonly infos = new Map<string, ParamInfo>();

  constructor(
    readonly graph: GraphBuilder,
    readonly bnMode: BatchNormMode,
    private readonly state: StateDict,
    private readonly prefix = '',
  ) {}

  private declare(name: string, shape: Shape, init: Init, kind: ParamKind): Value {
    const key = this.graph.scoped(name);
    const data = this.state.get(key);
    if (!data) throw new Error(`missing parameter "${key}" in the saved state`);
    const size = sizeOf(shape);
    if (data.length !== size) throw new Error(`parameter "${key}" has ${data.length} values, the model needs ${size} ([${shape.join(', ')}])`);
    this.infos.set(key, { name: key, shape: [...shape], kind, group: this.group, init });
    const full = `${this.prefix}${key}`;
    return this.graph.initializers.get(full)?.value ?? this.graph.initializer(full, constTensor('float32', shape, data), { absolute: true });
  }
  param(name: string, shape: Shape, init: Init): Value {
    return this.declare(name, shape, init, 'trainable');
  }
  buffer(name: string, shape: Shape, init: Init): Value {
    return this.declare(name, shape, init, 'buffer');
  }
  updateBuffer(): void {}
}
