/**
 * The graphs the benchmark times, built from the product's own pieces (backbones, cosine heads, losses, the
 * training-graph builder, the exporter) so a change to any of them shows up in the numbers. Shared by bench.ts,
 * profile-step.ts, session-settings.ts and the GPU checks (tools/gpu).
 */
import { GraphBuilder, type Value } from '../../src/graph/builder.js';
import { mul, add, slice } from '../../src/graph/ops/index.js';
import { exportModel } from '../../src/export/export-model.js';
import { crossEntropy, normalizedFeatureDistance } from '../../src/nn/functional.js';
import { cosineHead } from '../../src/nn/heads.js';
import { buildBackbone, getModelSpec, type ModelSpec } from '../../src/nn/models.js';
import { ConstantParams, InputParams, type ParamSource, type StateDict } from '../../src/nn/params.js';
import { fourRotations } from '../../src/nn/rotations.js';
import { completeState } from '../../src/train/session.js';
import { buildTrainingGraph, type TrainingGraph } from '../../src/train/training-graph.js';
import type { CheckpointContents } from '../../src/train/checkpoint.js';
import type { Device } from '../../src/runtime/backend.js';
import { countMacs } from './flops.js';

/** Deterministic pseudo-random floats in [-1, 1) (an LCG: fast, and identical across runs). */
export function seededFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Deterministic labels in [0, classes). */
export function seededLabels(n: number, classes: number, seed: number): BigInt64Array {
  const r = seededFloats(n, seed);
  return BigInt64Array.from(r, (v) => BigInt(Math.min(classes - 1, Math.floor(((v + 1) / 2) * classes))));
}

/** The training workloads the bench knows. */
export const TRAIN_WORKLOADS = ['resnet32', 'convnet', 'spbm_resnet32', 'spb_phase_resnet32'] as const;
export type TrainWorkloadName = (typeof TRAIN_WORKLOADS)[number];

export interface TrainWorkload {
  name: TrainWorkloadName;
  graph: TrainingGraph;
  /** Initial state for the session (weights; velocities start at zero). */
  state: StateDict;
  /** Images of the input batch (the rotations of SPB-M are made inside the graph, so they are not counted here). */
  batch: number;
  classes: number;
  /** Effective FLOPs of one step: 2 * (3 * trainable forward MACs + frozen forward MACs). */
  flopsPerStep: number;
  /** Forward MACs per input image, of the trained part alone (the model's usual "MACs" figure). */
  forwardMacsPerImage: number;
  /** Seconds spent building the graph (autodiff + encoding), for the graph-build figure. */
  buildSeconds: number;
}

interface ForwardParts {
  loss: Value;
  logits: Value;
  scalars?: Record<string, Value>;
  /** Outputs of frozen sub-networks (teachers): forward only, so their MACs count once, not three times. */
  frozenOutputs?: Value[];
}

type ForwardFn = (ctx: { graph: GraphBuilder; params: ParamSource; x: Value; y: Value }) => ForwardParts;

/** Backbone + cosine head, parameter groups as the trainers use them. */
function backboneAndHead(spec: ModelSpec, params: ParamSource, x: Value, head: string, classes: number): { features: Value; logits: Value } {
  params.group = 'backbone';
  const { features } = buildBackbone(spec, params, x);
  params.group = 'classifier';
  const logits = cosineHead(params, head, features, classes);
  params.group = 'backbone';
  return { features, logits };
}

/** Learned and frozen backbone weights for a spec, initialised as a fresh run would (seeded). */
function initialExtractor(spec: ModelSpec, inputShape: readonly [number, number, number]): StateDict {
  const g = new GraphBuilder('init');
  const params = new InputParams(g, 'train');
  buildBackbone(spec, params, g.input('input', 'float32', [1, ...inputShape]));
  return completeState([...params.infos.values()], new Map(), 7);
}

/**
 * SPB-M's later-phase step: the batch and its three rotations as one batch of 4B through the student, one cosine
 * head per rotation (L_mp = mean of the four CEs), and L_em on every rotated copy against the frozen teacher's
 * features of the same copy, weighted reciprocally (here 50 old / 50 new classes: both weights 1).
 */
function spbmForward(spec: ModelSpec, classes: number, teacher: StateDict): ForwardFn {
  return ({ graph: g, params, x, y }) => {
    const b = x.shape[0]!;
    const rotated = g.scope('rotate', () => fourRotations(x));
    params.group = 'backbone';
    const { features } = buildBackbone(spec, params, rotated);
    params.group = 'classifier';
    let ce: Value | null = null;
    let logits0: Value | null = null;
    for (let r = 0; r < 4; r++) {
      const fr = slice(features, { starts: [r * b], ends: [(r + 1) * b], axes: [0] });
      const logits = cosineHead(params, r === 0 ? 'fc' : `fc_rot${r}`, fr, classes);
      logits0 ??= logits;
      const term = crossEntropy(logits, y);
      ce = ce ? add(ce, term) : term;
    }
    params.group = 'backbone';
    const mp = mul(ce!, g.constF32(0.25));
    const teacherFeatures = buildBackbone(spec, new ConstantParams(g, 'eval', teacher, 'teacher.'), rotated).features;
    const em = normalizedFeatureDistance(features, teacherFeatures);
    return { loss: add(mp, em), logits: logits0!, scalars: { mp, em }, frozenOutputs: [teacherFeatures] };
  };
}

/** SPB's later phase (what every class-incremental phase after the first builds): CE + L_em against the teacher. */
function spbPhaseForward(spec: ModelSpec, classes: number, teacher: StateDict): ForwardFn {
  return ({ graph: g, params, x, y }) => {
    const { features, logits } = backboneAndHead(spec, params, x, 'fc', classes);
    const teacherFeatures = buildBackbone(spec, new ConstantParams(g, 'eval', teacher, 'teacher.'), x).features;
    const ce = crossEntropy(logits, y);
    const em = normalizedFeatureDistance(features, teacherFeatures);
    return { loss: add(mul(ce, g.constF32(0.2)), mul(em, g.constF32(5))), logits, scalars: { ce, em }, frozenOutputs: [teacherFeatures] };
  };
}

/** Effective step FLOPs of a forward: 3x the trained part (forward + two backward products), 1x frozen parts. */
function stepFlops(forward: ForwardFn, batch: number, inputShape: readonly [number, number, number]): { flops: number; forwardMacsPerImage: number } {
  const g = new GraphBuilder('count');
  const params = new InputParams(g, 'train');
  const x = g.input('input', 'float32', [batch, ...inputShape]);
  const y = g.input('target', 'int64', [batch]);
  const parts = forward({ graph: g, params, x, y });
  const all = countMacs(g.nodes, [parts.loss]).total;
  const frozen = parts.frozenOutputs?.length ? countMacs(g.nodes, parts.frozenOutputs).total : 0;
  const trained = all - frozen;
  return { flops: 2 * (3 * trained + frozen), forwardMacsPerImage: trained / batch };
}

/**
 * Builds a training workload: its graph (timed), initial state and FLOP count. `device` picks the gradient
 * formulation (CUDA graphs favour few large kernels) and the BatchNorm kernel, as the trainers do.
 * @example const w = buildTrainWorkload('resnet32'); const s = await TrainingSession.create(w.graph, w.state, { threads: 2 });
 */
export function buildTrainWorkload(name: TrainWorkloadName, batch = 128, device: Device = 'cpu'): TrainWorkload {
  const isConvnet = name === 'convnet';
  const spec = getModelSpec(isConvnet ? 'convnet' : 'resnet32');
  const inputShape = (isConvnet ? [1, 28, 28] : [3, 32, 32]) as [number, number, number];
  const classes = isConvnet ? 10 : 100;
  const teacher = name === 'spbm_resnet32' || name === 'spb_phase_resnet32' ? initialExtractor(spec, inputShape) : new Map<string, Float32Array>();
  const forward: ForwardFn =
    name === 'spbm_resnet32'
      ? spbmForward(spec, classes, teacher)
      : name === 'spb_phase_resnet32'
        ? spbPhaseForward(spec, classes, teacher)
        : ({ params, x, y }) => {
            const { logits } = backboneAndHead(spec, params, x, 'fc', classes);
            return { loss: crossEntropy(logits, y), logits };
          };
  const t0 = performance.now();
  const graph = buildTrainingGraph({
    name: `bench-${name}`,
    batchSize: batch,
    inputShape,
    bnMode: 'train',
    device,
    optimizer: { momentum: 0.9, weightDecay: 5e-4, nesterov: false },
    forward: (ctx) => forward(ctx),
  });
  const buildSeconds = (performance.now() - t0) / 1000;
  const { flops, forwardMacsPerImage } = stepFlops(forward, batch, inputShape);
  return { name, graph, state: completeState(graph.params, new Map(), 1), batch, classes, flopsPerStep: flops, forwardMacsPerImage, buildSeconds };
}

/** A batch of inputs and labels for a workload (fixed, so every step does the same work). */
export function workloadBatch(w: TrainWorkload): { x: Float32Array; y: BigInt64Array } {
  const per = w.graph.inputShape.slice(1).reduce((a, d) => a * d, 1);
  return { x: seededFloats(w.batch * per, 11), y: seededLabels(w.batch, w.classes, 12) };
}

/**
 * The exported inference model of a freshly initialised resnet32 (100 classes, float32 NCHW input, BatchNorm folded,
 * dynamic batch): the same file `onnx-cil export` writes for a trained run, so its cost is the shipped model's cost.
 * @example const bytes = exportedModelBytes('resnet32'); const s = await createBackend(bytes, { threads: 2 });
 */
export function exportedModelBytes(model: 'resnet32' | 'convnet' = 'resnet32'): {
  bytes: Uint8Array;
  inputShape: [number, number, number];
  macsPerImage: number;
} {
  const spec = getModelSpec(model);
  const inputShape = (model === 'convnet' ? [1, 28, 28] : [3, 32, 32]) as [number, number, number];
  const classes = model === 'convnet' ? 10 : 100;
  const g = new GraphBuilder('init');
  const params = new InputParams(g, 'eval');
  const { logits } = backboneAndHead(spec, params, g.input('input', 'float32', [1, ...inputShape]), 'fc', classes);
  const state = completeState([...params.infos.values()], new Map(), 3);
  const c = inputShape[0];
  const checkpoint = {
    meta: {
      format: 'onnx-cil-checkpoint',
      version: 1,
      model,
      head: 'cosine',
      classNames: Array.from({ length: classes }, (_, i) => `class${i}`),
      inputShape,
      mean: Array(c).fill(0.5),
      std: Array(c).fill(0.25),
      dataset: 'bench',
    },
    state,
    shapes: new Map([...params.infos.values()].map((p) => [p.name, [...p.shape]])),
  } as unknown as CheckpointContents<object>;
  return { bytes: exportModel(checkpoint).bytes, inputShape, macsPerImage: countMacs(g.nodes, [logits]).total };
}
