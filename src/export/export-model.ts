/**
 * Builds the inference model that leaves the toolchain: pixels in (normalised floats or raw bytes), class
 * probabilities and the L2-normalised feature vector out, BatchNorm folded, batch dynamic, and everything an app
 * needs to use it in metadata_props. What computes the probabilities is what the checkpoint's method predicts
 * with (its InferenceReadout, looked up in the methods registry by the name the checkpoint records).
 */
import { METHODS, resolveMethod } from '../cil/methods/index.js';
import { MAIN_HEAD, type InferenceReadout } from '../cil/variants.js';
import { constTensor, GraphBuilder, type Value } from '../graph/builder.js';
import { encodeModel, makeTensorProto, type ModelProto } from '../graph/onnx-proto.js';
import { add, cast, matmul, transpose } from '../graph/ops/index.js';
import { getModelSpec } from '../nn/models.js';
import { ConstantParams } from '../nn/params.js';
import type { CheckpointContents } from '../train/checkpoint.js';
import type { ModelMeta } from '../train/classifier.js';
import { packageVersion } from '../util/package-root.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import {
  FEATURES_OUTPUT,
  formatModelInfo,
  formatVersionFor,
  inputNameOf,
  LUMA_WEIGHTS,
  PROBABILITIES_OUTPUT,
  type InferenceModelInfo,
  type InputLayout,
} from './metadata.js';
import { classifierReadout, mahalanobisReadout } from './readouts.js';

export interface ExportOptions {
  /** Image input of the exported graph (default float32-nchw). */
  input?: InputLayout;
  /**
   * Export the main classifier head alone whatever the checkpoint's method reads out with: one head of a rotation
   * ensemble (by default the exported graph rotates each image, runs every head on its own rotation and outputs
   * the mean of their probabilities), or the cosine classifier instead of Gaussian class statistics.
   */
  singleHead?: boolean;
  /**
   * Method settings for the exported readout, over those the checkpoint's run recorded (e.g. gauss's
   * `priorStrength` and `shrinkage`: the class statistics are regularised when the model is exported, and classes
   * added in the app later use the same settings). The method validates them.
   */
  methodConfig?: Record<string, unknown>;
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
  methodConfig?: Record<string, unknown>;
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
  const channels = meta.inputShape?.[0];
  if (!Array.isArray(meta.mean) || !Array.isArray(meta.std) || meta.mean.length !== channels || meta.std.length !== channels) {
    throw new Error(`the checkpoint's metadata needs one mean and std per input channel (${channels}), it has ${meta.mean?.length} and ${meta.std?.length}`);
  }
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
    else if (c === 1) for (const [i, l] of LUMA_WEIGHTS.entries()) mix[i * c] = l * scale;
    else mix[out * c + out] = scale; // RGBA -> RGB: channel i of 4 feeds channel i of 3; alpha row stays 0
  }
  const shift = Float32Array.from(meta.mean.map((m, i) => -m / meta.std[i]!));
  return g.scope('preprocess', () => {
    const mixed = matmul(cast(pixels, 'float32'), g.initializer('channel_scale', constTensor('float32', [k, c], mix)));
    return transpose(add(mixed, g.initializer('channel_shift', constTensor('float32', [c], shift))), [0, 3, 1, 2]);
  });
}

/**
 * The readout an exported checkpoint computes: its method's, with the classifier heads the checkpoint holds (an
 * ensemble needs cosine heads); the main head alone for checkpoints of no known method and with `singleHead`.
 */
function exportedReadout(raw: Partial<ModelMeta> & RunMetaExtras, meta: ModelMeta, has: (name: string) => boolean, opts: ExportOptions): InferenceReadout {
  const single: InferenceReadout = { kind: 'classifier', heads: [{ ...MAIN_HEAD, prefix: opts.headPrefix ?? MAIN_HEAD.prefix }] };
  const known = raw.method !== undefined && METHODS.has(raw.method);
  if (opts.methodConfig && !known) throw new Error('the checkpoint records no learning method, so there are no method settings to export with');
  if (opts.singleHead || !known) return single;
  const declared = resolveMethod(raw.method!, { ...raw.methodConfig, ...opts.methodConfig }).readout;
  if (declared.kind !== 'classifier') return declared;
  // A checkpoint may hold fewer heads than the method's defaults declare; it is exported with those it has.
  const heads = declared.heads.filter((head, i) => i === 0 || has(`${head.prefix}.weight`));
  return heads.length > 1 && meta.head === 'cosine' ? { kind: 'classifier', heads } : single;
}

const DOCS = {
  'float32-nchw': (c: number, h: number, w: number, meta: ModelMeta) =>
    `Images as float32 [batch, ${c}, ${h}, ${w}] (NCHW), already normalised: (pixel / 255 - mean) / std per channel with mean ${JSON.stringify(meta.mean)} and std ${JSON.stringify(meta.std)}.`,
  'uint8-nhwc': (c: number, h: number, w: number) => `Raw pixels as uint8 [batch, ${h}, ${w}, ${c}] (NHWC, 0-255); normalisation happens inside the model.`,
  'uint8-rgba': (c: number, h: number, w: number) =>
    `Raw RGBA pixels as uint8 [batch, ${h}, ${w}, 4] (what a canvas ImageData holds); alpha is ignored` +
    (c === 1 ? ', grayscale is BT.601 luma 0.299 R + 0.587 G + 0.114 B' : '') +
    '; normalisation happens inside the model.',
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
  const method = raw.method ?? (raw.kind === 'classifier' ? 'supervised' : (raw.kind ?? 'unknown'));
  const spec = getModelSpec(meta.model);
  const [c, h, w] = meta.inputShape;
  const classes = meta.classNames.length;
  const readout = exportedReadout(raw, meta, (name) => checkpoint.state.has(name), opts);
  const kind = readout.kind === 'mahalanobis' ? '-mahalanobis' : readout.heads.length > 1 ? '-rotation-ensemble' : '';

  const g = new GraphBuilder(`onnx-cil-${meta.model}-${meta.head}${kind}`);
  const images = preprocess(g, layout, meta);
  const ctx = { graph: g, spec, params: new ConstantParams(g, 'eval', checkpoint.state), state: checkpoint.state, images, meta };
  const built = readout.kind === 'mahalanobis' ? mahalanobisReadout(ctx, readout.shrinkage) : classifierReadout(ctx, readout.heads);
  g.output(built.probabilities, PROBABILITIES_OUTPUT, built.probabilitiesDoc);
  const d = built.features.shape[1]!;
  g.output(
    built.features,
    FEATURES_OUTPUT,
    `L2-normalised feature vector [batch, ${d}] of the backbone (global-average-pooled), the space class prototypes live in.`,
  );

  const accuracy = opts.accuracy ?? raw.accuracy ?? raw.testAccuracy;
  const info: InferenceModelInfo = {
    formatVersion: formatVersionFor(built.info),
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
    readout: built.info,
    toolchainVersion: toolchainVersion(),
  };
  const model = g.toModel({
    docString: `onnx-cil image classifier: ${meta.model} backbone, ${built.description}, ${classes} classes (${method}${meta.dataset ? `, ${meta.dataset}` : ''}).`,
  });
  model.producer_version = info.toolchainVersion;
  model.metadata_props = formatModelInfo(info);
  model.graph.input[0]!.doc_string = DOCS[layout](c, h, w, meta);
  const foldedBatchNorms = foldBatchNorm(model);
  for (const t of built.unread ?? []) model.graph.initializer.push(makeTensorProto(t.name, 'float32', t.dims, t.data));
  return { bytes: encodeModel(model), model, info, foldedBatchNorms };
}
