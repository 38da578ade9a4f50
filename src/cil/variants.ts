/**
 * What every model variant of the class-incremental learner shares: the contract of a variant (what the student
 * computes in a training step: the classifier heads and the copies of the batch they read, the features that
 * distil, an optional self-supervised head; and what evaluation reads out), the single-head model every method
 * starts from, the building blocks of other variants, and what an exported model reads out. Methods pick a
 * variant in their PhasePolicy and keep their own variant in their file (SPB-M's rotation heads in
 * methods/spb-m.ts, SPB-I's self-supervised head in methods/spb-i.ts); the phase mechanics (teacher, classifier
 * expansion with prototypes, fresh optimiser, NCM means) stay in the learner and are shared by all.
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { add, mul, softmax } from '../graph/ops/index.js';
import type { ShrinkageOptions } from '../nn/class-statistics.js';
import { cosineHead } from '../nn/heads.js';
import { buildBackbone, type ModelSpec } from '../nn/models.js';
import type { ParamSource } from '../nn/params.js';
import type { PhasePolicy } from './learner.js';

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

/**
 * Cosine classifier `prefix` on `features`: its parameters in the classifier group, the source back in the
 * backbone group afterwards.
 * @example const logits = classifierOn(params, 'fc_rot1', rotatedFeatures, 10);
 */
export function classifierOn(params: ParamSource, prefix: string, features: Value, classes: number): Value {
  params.group = 'classifier';
  const logits = cosineHead(params, prefix, features, classes);
  params.group = 'backbone';
  return logits;
}

/**
 * The backbone on `x`, its parameters in the backbone group.
 * @example const { featureMap, features } = backboneOn(spec, params, x);
 */
export function backboneOn(spec: ModelSpec, params: ParamSource, x: Value): ReturnType<typeof buildBackbone> {
  params.group = 'backbone';
  return buildBackbone(spec, params, x);
}

/**
 * A value built on first use and reused afterwards (a loss input that only some loss pieces read).
 * @example const teacher = lazy(() => ctx.teacherFeatures(ctx.x));
 */
export function lazy(build: () => Value): () => Value {
  let v: Value | null = null;
  return () => (v ??= build());
}

/**
 * The mean of the heads' softmax probabilities, each head on its own rotation of the images (the ensemble
 * readout; the same ranking as their sum). The learner's SPB-M readout and the exported ensemble both use it.
 * @example const p = combineHeads([l0, l90, l180, l270]);
 */
export function combineHeads(headLogits: readonly Value[]): Value {
  let sum: Value | null = null;
  for (const l of headLogits) sum = sum ? add(sum, softmax(l, 1)) : softmax(l, 1);
  return headLogits.length === 1 ? sum! : mul(sum!, headLogits[0]!.graph.constF32(1 / headLogits.length));
}

/**
 * Backbone + cosine classifier `fc` (backbone and classifier parameter groups): the single-head model.
 * @example const { logits, features } = classifierForward(spec, params, x, 10);
 */
export function classifierForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): { logits: Value; features: Value } {
  const { features } = backboneOn(spec, params, x);
  return { logits: classifierOn(params, MAIN_HEAD.prefix, features, classes), features };
}

/**
 * Backbone + one cosine classifier `fc` (SPB, FT, proto, joint, gauss).
 * @example const policy = { ...spbPolicy(cfg), model: singleHeadVariant };
 */
export const singleHeadVariant: ModelVariant = Object.freeze({
  name: 'single-head',
  heads: [MAIN_HEAD],
  trainForward(ctx: TrainForwardContext): TrainForward {
    const { logits, features } = classifierForward(ctx.spec, ctx.params, ctx.x, ctx.classes);
    return { logits, headLogits: [logits], features, teacherFeatures: lazy(() => ctx.teacherFeatures(ctx.x)) };
  },
  evalForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
    return classifierForward(spec, params, x, classes);
  },
  stateForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
    return singleHeadVariant.evalForward(spec, params, x, classes);
  },
});

/**
 * What an exported model computes from the backbone's features, i.e. its `probabilities` output.
 * - `classifier`: the cosine classifier heads, each on the images rotated by its rotation; one head gives the
 *   softmax of its logits, several the mean of their softmax probabilities (SPB-M's ensemble). Classes added in
 *   an app get a prototype row in every head.
 * - `mahalanobis`: Gaussian class statistics: scores are minus the squared Mahalanobis distances of the unit
 *   feature to each class mean. Classes added in an app get their own statistics, regularised with `shrinkage`.
 */
export type InferenceReadout =
  | { readonly kind: 'classifier'; readonly heads: readonly ClassifierHead[] }
  | { readonly kind: 'mahalanobis'; readonly shrinkage: ShrinkageOptions };

/**
 * The readout a method's policy predicts with, which its exported models compute too: the Gaussian class
 * statistics when the policy keeps them, otherwise the classifier heads of its model variant.
 * @example inferenceReadout(resolveMethod('spb-m').policy); // { kind: 'classifier', heads: [fc, fc_rot1, fc_rot2, fc_rot3] }
 */
export function inferenceReadout(policy: PhasePolicy): InferenceReadout {
  if (policy.classStatistics) return { kind: 'mahalanobis', shrinkage: policy.classStatistics };
  return { kind: 'classifier', heads: (policy.model ?? singleHeadVariant).heads };
}
