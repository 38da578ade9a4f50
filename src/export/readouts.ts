/**
 * The part of an exported model after the pixels are normalised: the backbone and the readout that turns its
 * features into `probabilities`. The readout is what the checkpoint's method predicts with (InferenceReadout):
 * its classifier heads, or its Gaussian class statistics. Every readout also outputs the L2-normalised features of
 * the unrotated images, the space in which an app adds classes.
 */
import { STATISTICS_KEYS } from '../cil/learner.js';
import { combineHeads, type ClassifierHead } from '../cil/variants.js';
import { constTensor, type GraphBuilder, type Value } from '../graph/builder.js';
import { cast, gemm, mul, softmax } from '../graph/ops/index.js';
import { mahalanobisParameters, storedMoments, type ShrinkageOptions } from '../nn/class-statistics.js';
import { l2Normalize } from '../nn/functional.js';
import { mahalanobisScores } from '../nn/mahalanobis.js';
import { buildBackbone, type ModelSpec } from '../nn/models.js';
import type { ParamSource, StateDict } from '../nn/params.js';
import { copyOf, fourRotations } from '../nn/rotations.js';
import type { ModelMeta } from '../train/classifier.js';
import {
  CLASSIFIER_BIAS,
  CLASSIFIER_WEIGHT,
  MAHALANOBIS_MEANS,
  MAHALANOBIS_POOLED_COVARIANCE,
  MAHALANOBIS_PRECISIONS,
  rotationHeadScale,
  rotationHeadWeight,
  type ReadoutInfo,
} from './metadata.js';

/** What a readout builds on: the graph, the checkpoint and the normalised images. */
export interface ReadoutContext {
  graph: GraphBuilder;
  spec: ModelSpec;
  /** The checkpoint's weights as constants, BatchNorm in inference mode. */
  params: ParamSource;
  state: StateDict;
  /** Normalised images [batch, C, H, W]. */
  images: Value;
  meta: ModelMeta;
}

/** A built readout: the model's two outputs and how to describe them. */
export interface BuiltReadout {
  probabilities: Value;
  /** L2-normalised features [batch, D] of the unrotated images. */
  features: Value;
  /** doc_string of the `probabilities` output. */
  probabilitiesDoc: string;
  /** The classifier part of the model's description, e.g. `cosine head`. */
  description: string;
  /** Recorded in the metadata (onnx_cil.readout). */
  info: ReadoutInfo;
  /**
   * Tensors the file carries for apps that no node reads. The graph builder and BatchNorm folding drop unread
   * initializers, so the exporter adds these to the finished model.
   */
  unread?: { name: string; dims: number[]; data: Float32Array }[];
}

function headWeights(state: StateDict, prefix: string, name: string, size: number, what: string): Float32Array {
  const data = state.get(`${prefix}.${name}`);
  if (!data) throw new Error(`the checkpoint has no ${prefix}.${name} (${what})`);
  if (data.length !== size) {
    throw new Error(
      `the checkpoint is inconsistent: ${prefix}.${name} (${what}) has ${data.length} values where the class names in its metadata need ${size} (the file was edited or damaged)`,
    );
  }
  return data;
}

/**
 * Rows of `w` [rows, d] divided by their L2 norms (float64 sums), as the cosine head normalises them.
 * @example normalizeRows(Float32Array.of(3, 4), 2); // [0.6, 0.8]
 */
export function normalizeRows(w: Float32Array, d: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < w.length / d; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += w[r * d + j]! * w[r * d + j]!;
    const inv = 1 / Math.sqrt(ss + 1e-12);
    for (let j = 0; j < d; j++) out[r * d + j] = w[r * d + j]! * inv;
  }
  return out;
}

/**
 * Classifier heads: one head gives the softmax of its logits (a cosine head as pre-normalised rows times its scale,
 * or a linear head); several cosine heads, each reading the images rotated by its rotation, give the mean of their
 * softmax probabilities, the images and their rotations passing through the backbone as one batch.
 * @example const out = classifierReadout(ctx, [{ prefix: 'fc', rotation: 0 }]);
 */
export function classifierReadout(ctx: ReadoutContext, heads: readonly ClassifierHead[]): BuiltReadout {
  const { graph: g, meta, state } = ctx;
  const classes = meta.classNames.length;
  const [, h, w] = meta.inputShape;
  const ensemble = heads.length > 1;
  if (ensemble && meta.head !== 'cosine') throw new Error(`an ensemble of classifier heads needs cosine heads; this model has a ${meta.head} head`);
  if (ensemble && h !== w) throw new Error(`the rotation ensemble needs square images; this model takes ${h}x${w} (export with --single-head)`);
  const rotations = heads.map((head) => head.rotation);
  // The ensemble passes the image and its rotations through the backbone as one batch of heads.length * N.
  const { features: stacked } = buildBackbone(ctx.spec, ctx.params, ensemble ? g.scope('rotate', () => fourRotations(ctx.images, rotations)) : ctx.images);
  const perHead = heads.map((_, i) => (ensemble ? g.scope(`rot${rotations[i]}`, () => copyOf(stacked, i, heads.length)) : stacked));
  const d = stacked.shape[1]!;
  const unit = g.scope('features', () => l2Normalize(perHead[0]!, 1));
  if (meta.head === 'linear') {
    const prefix = heads[0]!.prefix;
    const weight = headWeights(state, prefix, 'weight', classes * d, 'linear classifier weight');
    const bias = headWeights(state, prefix, 'bias', classes, 'linear classifier bias');
    const wv = g.initializer(CLASSIFIER_WEIGHT, constTensor('float32', [classes, d], Float32Array.from(weight)), { absolute: true });
    const bv = g.initializer(CLASSIFIER_BIAS, constTensor('float32', [classes], Float32Array.from(bias)), { absolute: true });
    const logits = g.scope('classifier', () => gemm(perHead[0]!, wv, bv, { transB: 1 }));
    return {
      probabilities: g.scope('classifier', () => softmax(logits, 1)),
      features: unit,
      probabilitiesDoc: `Class probabilities [batch, ${classes}] (softmax), in the order of metadata onnx_cil.class_names.`,
      description: 'linear head',
      info: { kind: 'classifier' },
    };
  }
  const logits = heads.map((head, i) => {
    const r = head.rotation;
    const weight = normalizeRows(headWeights(state, head.prefix, 'weight', classes * d, 'cosine classifier rows'), d);
    const sigma = headWeights(state, head.prefix, 'sigma', 1, 'cosine classifier scale');
    const wv = g.initializer(rotationHeadWeight(r), constTensor('float32', [classes, d], weight), { absolute: true });
    const sv = g.initializer(rotationHeadScale(r), constTensor('float32', [1], Float32Array.from(sigma)), { absolute: true });
    const u = i === 0 ? unit : g.scope(`features_rot${r}`, () => l2Normalize(perHead[i]!, 1));
    return g.scope(r === 0 ? 'classifier' : `classifier_rot${r}`, () => mul(gemm(u, wv, null, { transB: 1 }), sv));
  });
  if (!ensemble) {
    return {
      probabilities: g.scope('classifier', () => softmax(logits[0]!, 1)),
      features: unit,
      probabilitiesDoc: `Class probabilities [batch, ${classes}] (softmax), in the order of metadata onnx_cil.class_names.`,
      description: 'cosine head',
      info: { kind: 'classifier' },
    };
  }
  return {
    // The mean of the heads' probabilities, each head on its own rotation (the learner's ensemble readout).
    probabilities: g.scope('ensemble', () => combineHeads(logits)),
    features: unit,
    probabilitiesDoc: `Class probabilities [batch, ${classes}]: the mean of ${heads.length} rotation heads' softmax outputs, head k reading the image rotated by k * 90 degrees counter-clockwise, in the order of metadata onnx_cil.class_names.`,
    description: `ensemble of ${heads.length} rotation heads (cosine)`,
    info: { kind: 'classifier' },
  };
}

/**
 * The Mahalanobis readout's probabilities are softmax(-d^2 / MAHALANOBIS_TEMPERATURE) of the squared distances d^2.
 * With 4 they are the posterior of Gaussian classes with equal priors whose covariances are twice the estimated
 * ones, covariance volumes left out (as the prediction leaves them out): test images lie further from the class
 * means than the training images the covariances come from, and the plain posterior (2) is over-confident.
 * Measured on fmnist-mini-b5-p5 (seed 1, epochs x0.25 and x1, after phases 0 and 5, 500 or 1,000 test images, with
 * the default options and with priorStrength 20 and shrinkage 0.1), the expected calibration error is
 * 0.04-0.12 with 4 (0.075 on average over the eight), 0.02-0.16 with 2 (0.108), 0.10-0.23 with 8 (0.142),
 * 0.13-0.23 for the raw scores and 0.3-0.5 per feature dimension (128). The ranking, and so the prediction, is the
 * same for every temperature.
 */
export const MAHALANOBIS_TEMPERATURE = 4;

/**
 * The Mahalanobis readout: class means [C, D] and precision matrices [C, D, D] computed from the checkpoint's class
 * statistics with `options` (what the learner predicts with), scores minus the squared Mahalanobis distance of the
 * unit feature to each mean, probabilities their softmax at MAHALANOBIS_TEMPERATURE. The base classes' pooled
 * covariance [D, D] is kept for classes added in an app.
 * @example const out = mahalanobisReadout(ctx, { priorStrength: 20, shrinkage: 0.1 });
 */
export function mahalanobisReadout(ctx: ReadoutContext, options: ShrinkageOptions): BuiltReadout {
  const { graph: g, meta, state } = ctx;
  const classes = meta.classNames.length;
  const { features } = buildBackbone(ctx.spec, ctx.params, ctx.images);
  const d = features.shape[1]!;
  const unit = g.scope('features', () => l2Normalize(features, 1));
  const stat = (key: string, size: number): Float32Array => {
    const data = state.get(key);
    if (!data) throw new Error(`the checkpoint has no ${key}: its method reads out with class statistics, but it holds none (the file was edited or damaged)`);
    if (data.length !== size) {
      throw new Error(
        `the checkpoint is inconsistent: ${key} has ${data.length} values where ${classes} classes of ${d} features need ${size} (the file was edited or damaged)`,
      );
    }
    return data;
  };
  const counts = stat(STATISTICS_KEYS.counts, classes);
  const pooled = stat(STATISTICS_KEYS.pooled, d * d);
  const moments = storedMoments(
    { counts, means: stat(STATISTICS_KEYS.means, classes * d), covariances: stat(STATISTICS_KEYS.covariances, classes * d * d) },
    d,
  );
  const { means, precisions } = mahalanobisParameters(moments, pooled, options);
  const mv = g.initializer(MAHALANOBIS_MEANS, constTensor('float32', [classes, d], means), { absolute: true });
  const pv = g.initializer(MAHALANOBIS_PRECISIONS, constTensor('float32', [classes, d, d], precisions), { absolute: true });
  const probabilities = g.scope('mahalanobis', () => {
    // The distances are summed in float64 (the weights stay float32 in the file): precision entries reach 1e6 when
    // a covariance has nearly flat directions (the default options add no ridge), and the float32 quadratic form
    // then loses about 1e-3 of a probability, differently in onnxruntime-node and -web; in float64 both agree with
    // the learner's readout to 1e-5.
    const scores = mahalanobisScores(cast(unit, 'float64'), cast(mv, 'float64'), cast(pv, 'float64'));
    return softmax(mul(cast(scores, 'float32'), g.constF32(1 / MAHALANOBIS_TEMPERATURE)), 1);
  });
  return {
    probabilities,
    features: unit,
    probabilitiesDoc:
      `Class probabilities [batch, ${classes}]: softmax of minus the squared Mahalanobis distances of the L2-normalised feature to the class means ` +
      `(precisions ${MAHALANOBIS_PRECISIONS}) divided by ${MAHALANOBIS_TEMPERATURE}: the posterior of Gaussian classes with equal priors and twice the estimated covariances, covariance volumes left out; in the order of metadata onnx_cil.class_names.`,
    description: 'Gaussian class statistics (Mahalanobis distance)',
    info: { kind: 'mahalanobis', priorStrength: options.priorStrength, shrinkage: options.shrinkage },
    unread: [{ name: MAHALANOBIS_POOLED_COVARIANCE, dims: [d, d], data: Float32Array.from(pooled) }],
  };
}
