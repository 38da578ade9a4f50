/**
 * Builds the inference model that leaves the toolchain: pixels in (normalised floats or raw bytes), class
 * probabilities and the L2-normalised feature vector out, BatchNorm folded, batch dynamic, and everything an app
 * needs to use it in metadata_props.
 */
import { constTensor, GraphBuilder, type Value } from '../graph/builder.js';
import { encodeModel, type ModelProto } from '../graph/onnx-proto.js';
import { add, cast, gemm, matmul, mul, softmax, transpose } from '../graph/ops/index.js';
import { rotationHeadPrefix } from '../cil/variants.js';
import { copyOf, fourRotations, QUARTER_TURNS } from '../nn/rotations.js';
import { l2Normalize } from '../nn/functional.js';
import { buildBackbone, getModelSpec } from '../nn/models.js';
import { ConstantParams, type StateDict } from '../nn/params.js';
import type { CheckpointContents } from '../train/checkpoint.js';
import type { ModelMeta } from '../train/classifier.js';
import { packageVersion } from '../util/package-root.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import {
  CLASSIFIER_BIAS,
  CLASSIFIER_SCALE,
  CLASSIFIER_WEIGHT,
  FEATURES_OUTPUT,
  formatModelInfo,
  INFERENCE_FORMAT_VERSION,
  inputNameOf,
  LUMA_WEIGHTS,
  PROBABILITIES_OUTPUT,
  rotationHeadScale,
  rotationHeadWeight,
  type InferenceModelInfo,
  type InputLayout,
} from './metadata.js';

export interface ExportOptions {
  /** Image input of the exported graph (default float32-nchw). */
  input?: InputLayout;
  /**
   * Export one classifier head even when the checkpoint's method combines several at test time (SPB-M's rotation
   * ensemble: by default the exported graph rotates each image, runs every head on its own rotation and outputs
   * the mean of their probabilities); single-head checkpoints ignore it.
   */
  singleHead?: boolean;
  /** Prefix of the head's parameters in the checkpoint (default `fc`: `fc.weight`, `fc.sigma`, `fc.bias`). */
  headPrefix?: string;
  /** Test accuracy (0-1) to record when the checkpoint's metadata has none. */
  accuracy?: number;
}

export interface ExportResult {
  bytes: Uint8Array;
  model: ModelProto;
  info: InferenceModelInfo;
  /** Conv + BatchNorm pairs folded into single convolutions. */
  foldedBatchNorms: number;
}

/** Checkpoint metadata fields the exporter reads beyond ModelMeta, when a run recorded them. */
interface RunMetaExtras {
  method?: string;
  kind?: string;
  accuracy?: number;
  testAccuracy?: number;
  history?: unknown;
}

/**
 * The onnx-cil version written into exported models.
 * @example toolchainVersion(); // '0.1.0'
 */
export function toolchainVersion(): string {
  return packageVersion();
}

function requireMeta(meta: Partial<ModelMeta>): ModelMeta {
  const missing = (['model', 'head', 'classNames', 'inputShape', 'mean', 'std'] as const).filter((k) => meta[k] === undefined);
  if (missing.length) throw new Error(`the checkpoint's metadata lacks ${missing.join(', ')}; it was not written by an onnx-cil training run`);
  if (!Array.isArray(meta.classNames) || meta.classNames.length === 0) throw new Error('the checkpoint names no classes');
  return meta as ModelMeta;
}

/**
 * Pixels -> normalised NCHW floats inside the graph. uint8 inputs are NHWC ([N, H, W, K]): one MatMul with a
 * [K, C] matrix maps the K stored channels to the model's C channels and scales by 1/(255 std) at once, then
 * Add subtracts mean/std. Channel rules: K = C maps 1:1; RGBA (K = 4) -> RGB drops alpha; RGBA -> 1 channel takes
 * BT.601 luma (0.299 R + 0.587 G + 0.114 B), alpha ignored.
 */
function preprocess(g: GraphBuilder, layout: InputLayout, meta: ModelMeta): Value {
  const [c, h, w] = meta.inputShape;
  if (layout === 'float32-nchw') return g.input(inputNameOf(layout), 'float32', [-1, c, h, w]);
  const k = layout === 'uint8-rgba' ? 4 : c;
  if (layout === 'uint8-rgba' && c !== 1 && c !== 3) throw new Error(`uint8-rgba input needs a 1- or 3-channel model; this one has ${c} channels`);
  const pixels = g.input(inputNameOf(layout), 'uint8', [-1, h, w, k]);
  const mix = new Float32Array(k * c);
  for (let out = 0; out < c; out++) {
    const scale = 1 / (255 * meta.std[out]!);
    if (k === c) mix[out * c + out] = scale;
    else if (c === 1) LUMA_WEIGHTS.forEach((l, i) => (mix[i * c] = l * scale));
    else mix[out * c + out] = scale; // RGBA -> RGB: channel i of 4 feeds channel i of 3; alpha row stays 0
  }
  const shift = Float32Array.from(meta.mean.map((m, i) => -m / meta.std[i]!));
  return g.scope('preprocess', () => {
    const mixed = matmul(cast(pixels, 'float32'), g.initializer('channel_scale', constTensor('float32', [k, c], mix)));
    return transpose(add(mixed, g.initializer('channel_shift', constTensor('float32', [c], shift))), [0, 3, 1, 2]);
  });
}

function headWeights(state: StateDict, prefix: string, name: string, size: number, what: string): Float32Array {
  const data = state.get(`${prefix}.${name}`);
  if (!data) throw new Error(`the checkpoint has no ${prefix}.${name} (${what})`);
  if (data.length !== size) throw new Error(`the checkpoint is inconsistent: ${prefix}.${name} (${what}) has ${data.length} values where the class names in its metadata need ${size} (the file was edited or damaged)`);
  return data;
}

/** Rows of `w` [rows, d] divided by their L2 norms (float64 sums), as the cosine head normalises them. */
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

const DOCS = {
  'float32-nchw': (c: number, h: number, w: number, meta: ModelMeta) =>
    `Images as float32 [batch, ${c}, ${h}, ${w}] (NCHW), already normalised: (pixel / 255 - mean) / std per channel with mean ${JSON.stringify(meta.mean)} and std ${JSON.stringify(meta.std)}.`,
  'uint8-nhwc': (c: number, h: number, w: number) =>
    `Raw pixels as uint8 [batch, ${h}, ${w}, ${c}] (NHWC, 0-255); normalisation happens inside the model.`,
  'uint8-rgba': (c: number, h: number, w: number) =>
    `Raw RGBA pixels as uint8 [batch, ${h}, ${w}, 4] (what a canvas ImageData holds); alpha is ignored` +
    (c === 1 ? ', grayscale is BT.601 luma 0.299 R + 0.587 G + 0.114 B' : '') + '; normalisation happens inside the model.',
} as const;

/**
 * Builds the exported inference model of a checkpoint.
 * @example
 * const { bytes } = exportModel(loadCheckpoint('runs/x/checkpoint.onnx'), { input: 'uint8-rgba' });
 * writeFileSync('model.onnx', bytes);
 */
export function exportModel(checkpoint: CheckpointContents<object>, opts: ExportOptions = {}): ExportResult {
  const layout = opts.input ?? 'float32-nchw';
  const raw = checkpoint.meta as Partial<ModelMeta> & RunMetaExtras;
  const meta = requireMeta(raw);
  const method = raw.method ?? (raw.kind === 'classifier' ? 'supervised' : raw.kind ?? 'unknown');
  const spec = getModelSpec(meta.model);
  const [c, h, w] = meta.inputShape;
  const classes = meta.classNames.length;
  const prefix = opts.headPrefix ?? 'fc';
  // SPB-M's rotation heads present in the checkpoint (rotation 0 is `fc`).
  const rotations =
    method === 'spb-m' && !opts.singleHead && meta.head === 'cosine'
      ? [0, ...Array.from({ length: QUARTER_TURNS - 1 }, (_, k) => k + 1).filter((r) => checkpoint.state.has(`${rotationHeadPrefix(r)}.weight`))]
      : [0];
  const ensemble = rotations.length > 1;
  if (ensemble && h !== w) throw new Error(`the rotation ensemble needs square images; this model takes ${h}x${w} (export with --single-head)`);

  const g = new GraphBuilder(`onnx-cil-${meta.model}-${meta.head}${ensemble ? '-rotation-ensemble' : ''}`);
  const x = preprocess(g, layout, meta);
  const params = new ConstantParams(g, 'eval', checkpoint.state);
  // The ensemble passes the image and its rotations through the backbone as one batch of rotations.length * N.
  const { features: stacked } = buildBackbone(spec, params, ensemble ? g.scope('rotate', () => fourRotations(x, rotations)) : x);
  const perRotation = rotations.map((r) => (ensemble ? g.scope(`rot${r}`, () => copyOf(stacked, r, rotations.length)) : stacked));
  const features = perRotation[0]!;
  const d = features.shape[1]!;
  const unit = g.scope('features', () => l2Normalize(features, 1));
  let logits: Value | null = null;
  let probs: Value;
  if (meta.head === 'cosine') {
    const heads = rotations.map((r) => {
      const p = ensemble ? rotationHeadPrefix(r) : prefix;
      const weight = normalizeRows(headWeights(checkpoint.state, p, 'weight', classes * d, 'cosine classifier rows'), d);
      const sigma = headWeights(checkpoint.state, p, 'sigma', 1, 'cosine classifier scale');
      const wv = g.initializer(rotationHeadWeight(r), constTensor('float32', [classes, d], weight), { absolute: true });
      const sv = g.initializer(rotationHeadScale(r), constTensor('float32', [1], Float32Array.from(sigma)), { absolute: true });
      const u = r === 0 ? unit : g.scope(`features_rot${r}`, () => l2Normalize(perRotation[r]!, 1));
      return g.scope(r === 0 ? 'classifier' : `classifier_rot${r}`, () => mul(gemm(u, wv, null, { transB: 1 }), sv));
    });
    if (ensemble) {
      // The mean of the heads' probabilities, each head on its own rotation (the learner's ensemble readout).
      probs = g.scope('ensemble', () => {
        let sum: Value | null = null;
        for (const l of heads) sum = sum ? add(sum, softmax(l, 1)) : softmax(l, 1);
        return mul(sum!, g.constF32(1 / heads.length));
      });
    } else {
      logits = heads[0]!;
      probs = g.scope('classifier', () => softmax(logits!, 1));
    }
  } else {
    const weight = headWeights(checkpoint.state, prefix, 'weight', classes * d, 'linear classifier weight');
    const bias = headWeights(checkpoint.state, prefix, 'bias', classes, 'linear classifier bias');
    const wv = g.initializer(CLASSIFIER_WEIGHT, constTensor('float32', [classes, d], Float32Array.from(weight)), { absolute: true });
    const bv = g.initializer(CLASSIFIER_BIAS, constTensor('float32', [classes], Float32Array.from(bias)), { absolute: true });
    logits = g.scope('classifier', () => gemm(features, wv, bv, { transB: 1 }));
    probs = g.scope('classifier', () => softmax(logits!, 1));
  }
  g.output(
    probs,
    PROBABILITIES_OUTPUT,
    ensemble
      ? `Class probabilities [batch, ${classes}]: the mean of ${rotations.length} rotation heads' softmax outputs, head k reading the image rotated by k * 90 degrees counter-clockwise, in the order of metadata onnx_cil.class_names.`
      : `Class probabilities [batch, ${classes}] (softmax), in the order of metadata onnx_cil.class_names.`,
  );
  g.output(unit, FEATURES_OUTPUT, `L2-normalised feature vector [batch, ${d}] of the backbone (global-average-pooled), the space class prototypes live in.`);

  const accuracy = opts.accuracy ?? raw.accuracy ?? raw.testAccuracy;
  const info: InferenceModelInfo = {
    formatVersion: INFERENCE_FORMAT_VERSION,
    classNames: [...meta.classNames],
    inputLayout: layout,
    inputSize: [c, h, w],
    mean: [...meta.mean],
    std: [...meta.std],
    model: meta.model,
    head: meta.head,
    method,
    dataset: meta.dataset,
    accuracy: typeof accuracy === 'number' && Number.isFinite(accuracy) ? accuracy : undefined,
    addedClasses: [],
    toolchainVersion: toolchainVersion(),
  };
  const model = g.toModel({
    docString: `onnx-cil image classifier: ${meta.model} backbone, ${ensemble ? `ensemble of ${rotations.length} rotation heads (cosine)` : `${meta.head} head`}, ${classes} classes (${method}${meta.dataset ? `, ${meta.dataset}` : ''}).`,
  });
  model.producer_version = info.toolchainVersion;
  model.metadata_props = formatModelInfo(info);
  model.graph.input[0]!.doc_string = DOCS[layout](c, h, w, meta);
  const foldedBatchNorms = foldBatchNorm(model);
  return { bytes: encodeModel(model), model, info, foldedBatchNorms };
}
