/**
 * Model variants of the class-incremental learner: what the student computes in a training step (the classifier
 * heads and the copies of the batch they read, the features that distil, an optional self-supervised head) and
 * what evaluation reads out. Methods pick a variant in their PhasePolicy; the phase mechanics (teacher, classifier
 * expansion with prototypes, fresh optimiser, NCM means) stay in the learner and are shared by all.
 *
 * - `singleHeadVariant`: backbone + one cosine classifier (SPB, FT, proto, joint).
 * - `rotationEnsembleVariant`: SPB-M, the batch and its rotations through the extractor as one batch, one cosine
 *   classifier (own rows, own scale) per rotation; evaluation combines the heads, each on its own rotation.
 * - `selfSupervisedVariant`: SPB-I, one classifier plus an instance-level self-supervised head (rotation
 *   prediction or contrastive projection) trained in every phase.
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { add, concat, mul, slice, softmax } from '../graph/ops/index.js';
import { contrastiveLoss, crossEntropy } from '../nn/functional.js';
import { cosineHead, projectionHead, rotationHead } from '../nn/heads.js';
import { buildBackbone, type ModelSpec } from '../nn/models.js';
import type { ParamSource } from '../nn/params.js';
import { copyOf, fourRotations, QUARTER_TURNS, rotateByQuarters } from '../nn/rotations.js';
import { augmentedViews } from '../nn/views.js';

/** A classifier over all seen classes: its parameter prefix and the rotation (quarter turns) of the images it reads. */
export interface ClassifierHead {
  readonly prefix: string;
  readonly rotation: number;
}

/** The classifier of every single-head model. */
export const MAIN_HEAD: ClassifierHead = Object.freeze({ prefix: 'fc', rotation: 0 });

export interface TrainForwardContext {
  graph: GraphBuilder;
  spec: ModelSpec;
  params: ParamSource;
  /** Normalised images [B, C, H, W] and int64 targets [B]. */
  x: Value;
  y: Value;
  classes: number;
  /** Features of the frozen extractor of the previous phase on `batch` (throws when the phase keeps none). */
  teacherFeatures(batch: Value): Value;
}

/** What the loss pieces of a training step read (see LossContext). */
export interface TrainForward {
  /** The main head's logits on the unrotated batch [B, C] (train accuracy). */
  logits: Value;
  /** Every classifier head's logits on its own copy of the batch, [B, C] each. */
  headLogits: Value[];
  /** Student features of the copies that distil [kB, D]. */
  features: Value;
  /** Frozen-extractor features of the same copies (built on first use). */
  teacherFeatures(): Value;
  /** The self-supervised loss L_in, for variants that have one. */
  selfSupervised?(): Value;
}

/**
 * Evaluation outputs: `logits` (scores of the primary readout, argmax = prediction), `features` (raw features of
 * the unrotated images), `features_rot<k>` for every other rotation a head reads, and `readout_<name>` scores of
 * each readout when a variant has several (e.g. `readout_ensemble`, `readout_single`).
 */
export type EvalOutputs = Record<string, Value>;

export interface ModelVariant {
  readonly name: string;
  readonly heads: readonly ClassifierHead[];
  trainForward(ctx: TrainForwardContext): TrainForward;
  evalForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs;
  /** Declares every parameter the variant owns (checkpoint shapes); returns any outputs. */
  stateForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs;
}

/** Output name of the raw features of images rotated by `rotation` quarter turns. */
export function featuresOutput(rotation: number): string {
  return rotation === 0 ? 'features' : `features_rot${rotation}`;
}

/** Prefix of the classifier reading images rotated by `rotation` (rotation 0 is the usual `fc`). */
export function rotationHeadPrefix(rotation: number): string {
  return rotation === 0 ? MAIN_HEAD.prefix : `fc_rot${rotation}`;
}

/** Backbone features in the backbone group, cosine head `prefix` in the classifier group. */
function headOn(params: ParamSource, prefix: string, features: Value, classes: number): Value {
  params.group = 'classifier';
  const logits = cosineHead(params, prefix, features, classes);
  params.group = 'backbone';
  return logits;
}

function backbone(spec: ModelSpec, params: ParamSource, x: Value) {
  params.group = 'backbone';
  return buildBackbone(spec, params, x);
}

/** Lazily built, cached value. */
function once(build: () => Value): () => Value {
  let v: Value | null = null;
  return () => (v ??= build());
}

/**
 * Backbone + cosine classifier `fc` (backbone and classifier parameter groups): the single-head model.
 * @example const { logits, features } = classifierForward(spec, params, x, 10);
 */
export function classifierForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): { logits: Value; features: Value } {
  const { features } = backbone(spec, params, x);
  return { logits: headOn(params, MAIN_HEAD.prefix, features, classes), features };
}

/**
 * Backbone + one cosine classifier `fc`.
 * @example const policy = { ...spbPolicy(cfg), model: singleHeadVariant };
 */
export const singleHeadVariant: ModelVariant = Object.freeze({
  name: 'single-head',
  heads: [MAIN_HEAD],
  trainForward(ctx: TrainForwardContext): TrainForward {
    const { logits, features } = classifierForward(ctx.spec, ctx.params, ctx.x, ctx.classes);
    return { logits, headLogits: [logits], features, teacherFeatures: once(() => ctx.teacherFeatures(ctx.x)) };
  },
  evalForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
    return classifierForward(spec, params, x, classes);
  },
  stateForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
    return singleHeadVariant.evalForward(spec, params, x, classes);
  },
});

export type RotationReadout = 'ensemble' | 'single';

/**
 * The mean of the heads' softmax probabilities, each head on its own rotation of the images (the ensemble
 * readout; the same ranking as their sum).
 * @example const p = combineHeads([l0, l90, l180, l270]);
 */
export function combineHeads(headLogits: readonly Value[]): Value {
  let sum: Value | null = null;
  for (const l of headLogits) sum = sum ? add(sum, softmax(l, 1)) : softmax(l, 1);
  return headLogits.length === 1 ? sum! : mul(sum!, headLogits[0]!.graph.constF32(1 / headLogits.length));
}

/**
 * SPB-M's model: rotations 0..gamma-1 of the batch pass through the extractor as one batch; head b (its own rows
 * and scale) classifies the copy rotated by b. Evaluation: `readout_ensemble` (mean of the heads' probabilities)
 * and `readout_single` (head 0 on the unrotated image); `logits` is the chosen `readout`.
 * @example const variant = rotationEnsembleVariant(4, 'ensemble');
 */
export function rotationEnsembleVariant(gamma = QUARTER_TURNS, readout: RotationReadout = 'ensemble'): ModelVariant {
  if (!Number.isInteger(gamma) || gamma < 1 || gamma > QUARTER_TURNS) throw new Error(`rotations: 1 to ${QUARTER_TURNS}, got ${gamma}`);
  const rotations = Array.from({ length: gamma }, (_, r) => r);
  const heads = rotations.map((r) => Object.freeze({ prefix: rotationHeadPrefix(r), rotation: r }));
  const forward = (spec: ModelSpec, params: ParamSource, x: Value, classes: number) => {
    const rotated = x.graph.scope('rotate', () => fourRotations(x, rotations));
    const { features } = backbone(spec, params, rotated);
    const perRotation = rotations.map((r) => (gamma === 1 ? features : x.graph.scope(`rot${r}`, () => copyOf(features, r, gamma))));
    const headLogits = heads.map((h, b) => headOn(params, h.prefix, perRotation[b]!, classes));
    return { rotated, features, perRotation, headLogits };
  };
  const variant: ModelVariant = {
    name: `rotation-ensemble-${gamma}`,
    heads,
    trainForward(ctx: TrainForwardContext): TrainForward {
      const { rotated, features, headLogits } = forward(ctx.spec, ctx.params, ctx.x, ctx.classes);
      return { logits: headLogits[0]!, headLogits, features, teacherFeatures: once(() => ctx.teacherFeatures(rotated)) };
    },
    evalForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      const { perRotation, headLogits } = forward(spec, params, x, classes);
      const ensemble = x.graph.scope('ensemble', () => combineHeads(headLogits));
      const outputs: EvalOutputs = {
        logits: readout === 'ensemble' ? ensemble : headLogits[0]!,
        readout_ensemble: ensemble,
        readout_single: headLogits[0]!,
      };
      rotations.forEach((r) => (outputs[featuresOutput(r)] = perRotation[r]!));
      return outputs;
    },
    stateForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      return variant.evalForward(spec, params, x, classes);
    },
  };
  return Object.freeze(variant);
}

/** SPB-I's instance-level self-supervised task. */
export type SelfSupervisedTask =
  | {
      kind: 'rotation';
      /** `random`: each image rotated once (quarters of the batch by 0/90/180/270); `every`: all four rotations. */
      angles: 'random' | 'every';
    }
  | {
      kind: 'contrastive';
      /** Augmented views per image (view 0 is the image itself). */
      views: number;
      /** Translation of the shifted views in pixels. */
      shift: number;
      temperature: number;
      projectionDim: number;
    };

/** Parameter prefix of the self-supervised head (rotation blocks + angle classifier, or projection MLP). */
export const SSL_PREFIX = 'ssl';

/**
 * SPB-I's model: backbone + cosine classifier `fc`, plus a self-supervised head trained in every phase. The
 * images and their self-supervised copies pass through the extractor as one batch; CE and distillation read the
 * unrotated images only. Rotation task: the copies' last feature maps -> rotationHead (`ssl.block1`, `ssl.block2`
 * in the backbone group, `ssl.fc` in the classifier group) -> CE over the 4 angles. Contrastive task: the views'
 * features -> projectionHead (`ssl.proj`, classifier group) -> contrastiveLoss. Evaluation is the single head.
 * @example const variant = selfSupervisedVariant({ kind: 'rotation', angles: 'random' });
 */
export function selfSupervisedVariant(task: SelfSupervisedTask): ModelVariant {
  const sslHead = (params: ParamSource, featureMap: Value, features: Value): Value => {
    if (task.kind === 'rotation') return rotationHead(params, SSL_PREFIX, featureMap, QUARTER_TURNS);
    const group = params.group;
    params.group = 'classifier';
    try {
      return params.graph.scope(SSL_PREFIX, () => projectionHead(params, 'proj', features, features.shape[1]!, task.projectionDim));
    } finally {
      params.group = group;
    }
  };
  const variant: ModelVariant = {
    name: `self-supervised-${task.kind}`,
    heads: [MAIN_HEAD],
    trainForward(ctx: TrainForwardContext): TrainForward {
      const { graph: g, x } = ctx;
      const b = x.shape[0]!;
      let batch: Value;
      let copies: { from: number; labels?: number[] };
      if (task.kind === 'rotation' && task.angles === 'random') {
        const q = g.scope('rotate', () => rotateByQuarters(x));
        batch = concat([x, q.rotated], 0);
        copies = { from: b, labels: q.labels };
      } else if (task.kind === 'rotation') {
        batch = g.scope('rotate', () => fourRotations(x));
        copies = { from: 0, labels: Array.from({ length: QUARTER_TURNS * b }, (_, i) => Math.floor(i / b)) };
      } else {
        batch = g.scope('views', () => augmentedViews(x, task.views, task.shift));
        copies = { from: 0 };
      }
      const { featureMap, features: all } = backbone(ctx.spec, ctx.params, batch);
      const features = slice(all, { starts: [0], ends: [b], axes: [0] });
      const logits = headOn(ctx.params, MAIN_HEAD.prefix, features, ctx.classes);
      const rows = batch.shape[0]!;
      const selfSupervised = once(() => {
        const map = copies.from === 0 ? featureMap : slice(featureMap, { starts: [copies.from], ends: [rows], axes: [0] });
        const vec = copies.from === 0 ? all : slice(all, { starts: [copies.from], ends: [rows], axes: [0] });
        // Parameter names follow the graph scope, so the head is built outside any scope.
        const out = sslHead(ctx.params, map, vec);
        return g.scope('ssl_loss', () =>
          task.kind === 'contrastive' ? contrastiveLoss(out, task.views, task.temperature) : crossEntropy(out, g.constI64(copies.labels!)),
        );
      });
      return { logits, headLogits: [logits], features, teacherFeatures: once(() => ctx.teacherFeatures(x)), selfSupervised };
    },
    evalForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      return singleHeadVariant.evalForward(spec, params, x, classes);
    },
    stateForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      const { featureMap, features } = backbone(spec, params, x);
      const logits = headOn(params, MAIN_HEAD.prefix, features, classes);
      return { logits, features, ssl: sslHead(params, featureMap, features) };
    },
  };
  return Object.freeze(variant);
}
