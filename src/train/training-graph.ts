/**
 * Assembles one ONNX graph that runs forward, loss, backward and the SGD update for a step, and an evaluation
 * graph over the same parameter names (so both sessions share the weights).
 */
import { gradients } from '../autodiff/backprop.js';
import type { GradTarget } from '../autodiff/rule.js';
import type { Device } from '../runtime/backend.js';
import { GraphBuilder, type Value } from '../graph/builder.js';
import { encodeModel } from '../graph/onnx-proto.js';
import { argMax, cast, equal, reduceSum } from '../graph/ops/index.js';
import { InputParams, type BatchNormMode, type ParamInfo } from '../nn/params.js';
import { sgdStep, type SgdConfig } from './sgd.js';

export interface ForwardContext {
  graph: GraphBuilder;
  params: InputParams;
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
  /** State inputs whose next value the graph returns as `<name>:next`. */
  carried: string[];
  /** Names of the reported scalar outputs. */
  scalars: string[];
  hasAccuracy: boolean;
  /** [B, C, H, W] of the `input` feed. */
  inputShape: number[];
}

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

/**
 * Builds the training graph.
 * @example const tg = buildTrainingGraph({ name: 'train', batchSize: 128, inputShape: [1, 28, 28], bnMode: 'train', optimizer, forward });
 */
export function buildTrainingGraph(opts: TrainingGraphOptions): TrainingGraph {
  const g = new GraphBuilder(opts.name);
  const params = new InputParams(g, opts.bnMode, opts.frozen);
  const x = g.input('input', 'float32', [opts.batchSize, ...opts.inputShape]);
  const y = g.input('target', 'int64', [opts.batchSize]);
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
  const carried: string[] = [];
  g.scope('optimizer', () => {
    trainable.forEach((p, i) => {
      const velocity = g.input(velocityName(p.name), 'float32', p.shape);
      const step = sgdStep(params.values.get(p.name)!, grads[i]!, velocity, lrs.get(p.group)!, opts.optimizer);
      g.output(step.param, nextName(p.name));
      g.output(step.velocity, nextName(velocity.name));
      carried.push(p.name, velocity.name);
    });
  });
  for (const [name, next] of params.bufferUpdates) {
    g.output(next, nextName(name));
    carried.push(name);
  }
  return {
    bytes: encodeModel(g.toModel({ docString: `onnx-cil training step: ${opts.name}` })),
    params: [...params.infos.values()],
    groups,
    carried,
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
