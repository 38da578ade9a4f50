/**
 * Assembles one ONNX graph that runs forward, loss, backward and the SGD update for a step, and an evaluation
 * graph over the same parameter names (so both sessions share the weights).
 */
import { gradients } from '../autodiff/backprop.js';
import type { GradTarget } from '../autodiff/rule.js';
import type { Device } from '../runtime/backend.js';
import { GraphBuilder, sizeOf, type Value } from '../graph/builder.js';
import { encodeModel } from '../graph/onnx-proto.js';
import { argMax, cast, concat, equal, reduceSum, reshape } from '../graph/ops/index.js';
import { InputParams, PackedParams, type BatchNormMode, type ParamInfo, type StateSlot } from '../nn/params.js';
import { sgdStep, type SgdConfig } from './sgd.js';

export interface ForwardContext {
  graph: GraphBuilder;
  params: InputParams | PackedParams;
  /** Normalised images [B, C, H, W]. */
  x: Value;
  /** int64 targets [B] (output indices). */
  y: Value;
}

export interface ForwardResult {
  loss: Value;
  /** Scalars reported every step, e.g. the parts of a composite loss. */
  scalars?: Record<string, Value>;
  /** Class scores [B, C]; when present the graph also returns the number of correct top-1 predictions. */
  logits?: Value;
}

export interface TrainingGraphOptions {
  name: string;
  batchSize: number;
  inputShape: readonly [number, number, number];
  bnMode: BatchNormMode;
  optimizer: SgdConfig;
  forward(ctx: ForwardContext): ForwardResult;
  /** Parameters held fixed (fed, never updated). */
  frozen?: (name: string) => boolean;
  /** Device the graph is built for: picks the fastest exact gradient formulations (default cpu). */
  device?: Device;
}

export interface TrainingGraph {
  bytes: Uint8Array;
  /** Every parameter and buffer the graph reads. */
  params: ParamInfo[];
  /** Learning-rate groups, each fed as input `lr.<group>`. */
  groups: string[];
  /** State entries the step updates (parameters, their velocities, BatchNorm buffers); the rest pass through. */
  carried: string[];
  /** Where each state entry (parameters, buffers, then velocities) lives in the packed `state` input. */
  layout: StateSlot[];
  /** Length of the packed state vector. */
  stateSize: number;
  /** Names of the reported scalar outputs. */
  scalars: string[];
  hasAccuracy: boolean;
  /** [B, C, H, W] of the `input` feed. */
  inputShape: number[];
}

/** Name of the packed state input and of the step's updated state output. */
export const STATE_INPUT = 'state';
export const STATE_OUTPUT = 'state:next';

/** Gradient formulation for a device: GPU graphs favour few large kernels; `auto` may end on the CPU, so it keeps the CPU's. */
export function gradTargetFor(device: Device | undefined): GradTarget {
  return device === 'cuda' ? 'gpu' : 'cpu';
}

export const velocityName = (param: string): string => `velocity.${param}`;
export const nextName = (state: string): string => `${state}:next`;
export const lrInputName = (group: string): string => `lr.${group}`;

/** Number of correct top-1 predictions as a float scalar. */
export function correctCount(logits: Value, labels: Value): Value {
  return reduceSum(cast(equal(argMax(logits, 1, false), labels), 'float32'), undefined, false);
}

/** The packed layout: every parameter and buffer in the order the forward declares them, then the velocities. */
function stateLayout(infos: readonly ParamInfo[], trainable: readonly ParamInfo[]): StateSlot[] {
  const slots: StateSlot[] = [];
  let offset = 0;
  const push = (name: string, shape: readonly number[]) => {
    const size = sizeOf(shape);
    slots.push({ name, shape: [...shape], offset, size });
    offset += size;
  };
  for (const p of infos) push(p.name, p.shape);
  for (const p of trainable) push(velocityName(p.name), p.shape);
  return slots;
}

/**
 * Builds the training graph. The forward is built twice: once to discover the parameters (and so the packed state
 * layout), then for real over slices of the packed `state` input. One input and one output carry the whole state.
 * @example const tg = buildTrainingGraph({ name: 'train', batchSize: 128, inputShape: [1, 28, 28], bnMode: 'train', optimizer, forward });
 */
export function buildTrainingGraph(opts: TrainingGraphOptions): TrainingGraph {
  const probe = new GraphBuilder(`${opts.name}-probe`);
  const probeParams = new InputParams(probe, opts.bnMode, opts.frozen);
  opts.forward({
    graph: probe,
    params: probeParams,
    x: probe.input('input', 'float32', [opts.batchSize, ...opts.inputShape]),
    y: probe.input('target', 'int64', [opts.batchSize]),
  });
  const layout = stateLayout([...probeParams.infos.values()], probeParams.trainable());
  const stateSize = layout.reduce((a, s) => a + s.size, 0);
  const slots = new Map(layout.map((s) => [s.name, s]));

  const g = new GraphBuilder(opts.name);
  const x = g.input('input', 'float32', [opts.batchSize, ...opts.inputShape]);
  const y = g.input('target', 'int64', [opts.batchSize]);
  const state = g.input(STATE_INPUT, 'float32', [stateSize]);
  const params = new PackedParams(g, opts.bnMode, state, slots, opts.frozen);
  // `auto` may end on CUDA, whose kernel refuses training-mode BatchNormalization, so it keeps the primitives.
  params.batchNormKernel = (opts.device ?? 'cpu') === 'cpu' ? 'fused' : 'primitives';
  const result = opts.forward({ graph: g, params, x, y });
  const trainable = params.trainable();
  const grads = gradients(
    result.loss,
    trainable.map((p) => params.values.get(p.name)!),
    { target: gradTargetFor(opts.device) },
  );
  g.output(result.loss, 'loss');
  const scalars = Object.entries(result.scalars ?? {});
  for (const [k, v] of scalars) g.output(v, `scalar.${k}`);
  if (result.logits) g.output(correctCount(result.logits, y), 'correct');

  const groups = [...new Set(trainable.map((p) => p.group))].sort();
  const lrs = new Map(groups.map((grp) => [grp, g.input(lrInputName(grp), 'float32', [])]));
  const next = new Map<string, Value>();
  g.scope('optimizer', () => {
    trainable.forEach((p, i) => {
      const velocity = reshape(params.flat(velocityName(p.name)), p.shape);
      const step = sgdStep(params.values.get(p.name)!, grads[i]!, velocity, lrs.get(p.group)!, opts.optimizer);
      next.set(p.name, step.param);
      next.set(velocityName(p.name), step.velocity);
    });
  });
  for (const [name, value] of params.bufferUpdates) next.set(name, value);
  const parts = layout.map((slot) => {
    const updated = next.get(slot.name);
    return updated ? reshape(updated, [slot.size]) : params.flat(slot.name);
  });
  g.output(parts.length === 1 ? parts[0]! : concat(parts, 0), STATE_OUTPUT);
  return {
    bytes: encodeModel(g.toModel({ docString: `onnx-cil training step: ${opts.name}` })),
    params: [...params.infos.values()],
    groups,
    carried: layout.filter((s) => next.has(s.name)).map((s) => s.name),
    layout,
    stateSize,
    scalars: scalars.map(([k]) => k),
    hasAccuracy: !!result.logits,
    inputShape: [opts.batchSize, ...opts.inputShape],
  };
}

export interface EvalGraphOptions {
  name: string;
  batchSize: number;
  inputShape: readonly [number, number, number];
  /** Returns named outputs, e.g. { logits, features }. */
  forward(ctx: { graph: GraphBuilder; params: InputParams; x: Value }): Record<string, Value>;
}

export interface EvalGraph {
  bytes: Uint8Array;
  params: ParamInfo[];
  outputs: string[];
}

/**
 * An inference graph over the same parameter names as the training graph, BatchNorm in eval mode.
 * @example const eg = buildEvalGraph({ name: 'eval', batchSize: 256, inputShape: [1, 28, 28], forward });
 */
export function buildEvalGraph(opts: EvalGraphOptions): EvalGraph {
  const g = new GraphBuilder(opts.name);
  const params = new InputParams(g, 'eval');
  const x = g.input('input', 'float32', [opts.batchSize, ...opts.inputShape]);
  const outs = opts.forward({ graph: g, params, x });
  for (const [k, v] of Object.entries(outs)) g.output(v, k);
  return { bytes: encodeModel(g.toModel()), params: [...params.infos.values()], outputs: Object.keys(outs) };
}
