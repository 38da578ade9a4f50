/**
 * The contract between exported inference models and the code that runs them: input/output names, the layout
 * of the pixel input, and the `metadata_props` keys. Plain data with no imports, so the browser app shares it.
 */

/** How an exported model takes its image input. */
export type InputLayout = 'float32-nchw' | 'uint8-nhwc' | 'uint8-rgba';
export const INPUT_LAYOUTS: readonly InputLayout[] = Object.freeze(['float32-nchw', 'uint8-nhwc', 'uint8-rgba']);

/** Graph input name per layout: normalised floats are `input`, raw bytes are `pixels`. */
export function inputNameOf(layout: InputLayout): string {
  return layout === 'float32-nchw' ? 'input' : 'pixels';
}

/** ITU-R BT.601 luma weights: how RGB(A) pixels become one channel, in the graph (uint8-rgba) and in the app. */
export const LUMA_WEIGHTS = Object.freeze([0.299, 0.587, 0.114] as const);

/** Output names of every exported model. */
export const PROBABILITIES_OUTPUT = 'probabilities';
export const FEATURES_OUTPUT = 'features';

/** Initializers that in-app class addition rewrites: one row per class, rows already L2-normalised (cosine head). */
export const CLASSIFIER_WEIGHT = 'classifier.weight';
/** The cosine head's learned scale, [1]. */
export const CLASSIFIER_SCALE = 'classifier.scale';
/**
 * Initializers of the extra heads of a rotation ensemble (SPB-M): the head reading images rotated by `rotation`
 * quarter turns counter-clockwise has its own rows and scale; rotation 0 uses CLASSIFIER_WEIGHT / CLASSIFIER_SCALE.
 */
export function rotationHeadWeight(rotation: number): string {
  return rotation === 0 ? CLASSIFIER_WEIGHT : `${CLASSIFIER_WEIGHT}.rot${rotation}`;
}
export function rotationHeadScale(rotation: number): string {
  return rotation === 0 ? CLASSIFIER_SCALE : `${CLASSIFIER_SCALE}.rot${rotation}`;
}
/** The linear head's bias, [C] (linear heads only). */
export const CLASSIFIER_BIAS = 'classifier.bias';

/**
 * Initializers of the Mahalanobis readout (Gaussian class statistics): class means [C, D] and precision matrices (inverse regularised
 * covariances) [C, D, D] of the unit-length features, which the graph reads, and the pooled within-class covariance
 * of the base classes [D, D], which no node reads: it is the prior of the covariance of every class added in an app.
 */
export const MAHALANOBIS_MEANS = 'mahalanobis.means';
export const MAHALANOBIS_PRECISIONS = 'mahalanobis.precisions';
export const MAHALANOBIS_POOLED_COVARIANCE = 'mahalanobis.pooled_covariance';

/**
 * How a model turns its features into `probabilities`: its classifier heads (`classifier.weight`, or one per
 * rotation), or Gaussian class statistics with the options that regularise the covariance of an added class
 * (Sigma = (max(n - 1, 0) * S + priorStrength * S_pooled) / (max(n - 1, 0) + priorStrength), plus shrinkage times
 * its mean variance on the diagonal).
 */
export type ReadoutInfo = { kind: 'classifier' } | { kind: 'mahalanobis'; priorStrength: number; shrinkage: number };

/** Format tag stored under `onnx_cil.format`; a model without it is not an onnx-cil inference model. */
export const INFERENCE_FORMAT = 'onnx-cil-inference';
/** The newest format version this code reads and writes: 2 added the Mahalanobis readout. */
export const INFERENCE_FORMAT_VERSION = 2;

/**
 * The format version a model with this readout is written with: the oldest that can read it, so that readers of
 * version 1 still open classifier models and refuse Mahalanobis ones with a clear message.
 * @example formatVersionFor({ kind: 'classifier' }); // 1
 */
export function formatVersionFor(readout: ReadoutInfo): number {
  return readout.kind === 'mahalanobis' ? 2 : 1;
}

/** metadata_props keys, one value each, so Netron and `onnx` list them readably. JSON values are marked. */
export const META_KEYS = Object.freeze({
  format: 'onnx_cil.format',
  formatVersion: 'onnx_cil.format_version',
  /** JSON array of strings, in output order. */
  classNames: 'onnx_cil.class_names',
  inputLayout: 'onnx_cil.input_layout',
  /** JSON [channels, height, width] of the network (what `pixels` is resized to). */
  inputSize: 'onnx_cil.input_size',
  /** JSON arrays, per channel, on [0, 1] pixels. */
  mean: 'onnx_cil.mean',
  std: 'onnx_cil.std',
  model: 'onnx_cil.model',
  head: 'onnx_cil.head',
  method: 'onnx_cil.method',
  dataset: 'onnx_cil.dataset',
  /** Test accuracy (0-1) of the run that produced the checkpoint, when known. */
  accuracy: 'onnx_cil.accuracy',
  /** JSON array of the labels added in an app (after export, without training). */
  addedClasses: 'onnx_cil.added_classes',
  /** `classifier` or `mahalanobis` (ReadoutInfo); models exported before it existed read out with their classifier. */
  readout: 'onnx_cil.readout',
  /** Mahalanobis readout only: how the covariance of a class added in an app is regularised (numbers). */
  priorStrength: 'onnx_cil.prior_strength',
  shrinkage: 'onnx_cil.shrinkage',
  toolchainVersion: 'onnx_cil.toolchain_version',
} as const);

/** Everything an app needs to know about an exported model, parsed from its metadata. */
export interface InferenceModelInfo {
  formatVersion: number;
  classNames: string[];
  inputLayout: InputLayout;
  /** [channels, height, width] of the network input. */
  inputSize: [number, number, number];
  mean: number[];
  std: number[];
  model: string;
  head: 'cosine' | 'linear';
  method: string;
  dataset?: string;
  accuracy?: number;
  addedClasses: string[];
  /** What computes `probabilities` from the features. */
  readout: ReadoutInfo;
  toolchainVersion: string;
}

/**
 * The metadata_props entries describing a model.
 * @example model.metadata_props = formatModelInfo(info);
 */
export function formatModelInfo(info: InferenceModelInfo): { key: string; value: string }[] {
  const entries: [string, string | undefined][] = [
    [META_KEYS.format, INFERENCE_FORMAT],
    [META_KEYS.formatVersion, String(info.formatVersion)],
    [META_KEYS.classNames, JSON.stringify(info.classNames)],
    [META_KEYS.inputLayout, info.inputLayout],
    [META_KEYS.inputSize, JSON.stringify(info.inputSize)],
    [META_KEYS.mean, JSON.stringify(info.mean)],
    [META_KEYS.std, JSON.stringify(info.std)],
    [META_KEYS.model, info.model],
    [META_KEYS.head, info.head],
    [META_KEYS.method, info.method],
    [META_KEYS.dataset, info.dataset],
    [META_KEYS.accuracy, info.accuracy === undefined ? undefined : String(info.accuracy)],
    [META_KEYS.addedClasses, info.addedClasses.length ? JSON.stringify(info.addedClasses) : undefined],
    [META_KEYS.readout, info.readout.kind],
    [META_KEYS.priorStrength, info.readout.kind === 'mahalanobis' ? String(info.readout.priorStrength) : undefined],
    [META_KEYS.shrinkage, info.readout.kind === 'mahalanobis' ? String(info.readout.shrinkage) : undefined],
    [META_KEYS.toolchainVersion, info.toolchainVersion],
  ];
  return entries.filter((e): e is [string, string] => e[1] !== undefined).map(([key, value]) => ({ key, value }));
}

function isNumberArray(v: unknown, length?: number): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && (length === undefined || v.length === length);
}

/**
 * Parses metadata_props of an exported model; throws a clear error for models onnx-cil did not export.
 * @example const info = parseModelInfo(decodeModel(bytes).metadata_props ?? []);
 */
export function parseModelInfo(props: readonly { key: string; value: string }[], source = 'the model'): InferenceModelInfo {
  const map = new Map(props.map((p) => [p.key, p.value]));
  const format = map.get(META_KEYS.format);
  if (format !== INFERENCE_FORMAT) {
    const hint = map.has('onnx_cil.checkpoint')
      ? ' It is a training checkpoint: make an inference model with `onnx-cil export --from CHECKPOINT --out model.onnx`.'
      : '';
    throw new Error(`${source} is not an onnx-cil inference model (metadata ${META_KEYS.format} is missing).${hint}`);
  }
  const formatVersion = Number(map.get(META_KEYS.formatVersion) ?? NaN);
  if (!Number.isInteger(formatVersion) || formatVersion > INFERENCE_FORMAT_VERSION) {
    throw new Error(`${source} uses inference format ${map.get(META_KEYS.formatVersion)}; this onnx-cil reads up to ${INFERENCE_FORMAT_VERSION}`);
  }
  const json = (key: string): unknown => {
    const raw = map.get(key);
    if (raw === undefined) throw new Error(`${source} lacks metadata ${key}`);
    try {
      return JSON.parse(raw);
    } catch {
      throw new Error(`${source} has unreadable metadata ${key}`);
    }
  };
  const classNames = json(META_KEYS.classNames);
  if (!Array.isArray(classNames) || classNames.length === 0 || !classNames.every((c) => typeof c === 'string')) {
    throw new Error(`${source}: metadata ${META_KEYS.classNames} must be a non-empty JSON array of strings`);
  }
  const inputLayout = map.get(META_KEYS.inputLayout) as InputLayout;
  if (!INPUT_LAYOUTS.includes(inputLayout)) throw new Error(`${source}: unknown input layout "${String(inputLayout)}"`);
  const inputSize = json(META_KEYS.inputSize);
  if (!isNumberArray(inputSize, 3) || inputSize.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${source}: metadata ${META_KEYS.inputSize} must be [channels, height, width]`);
  }
  const mean = json(META_KEYS.mean);
  const std = json(META_KEYS.std);
  if (!isNumberArray(mean, inputSize[0]) || !isNumberArray(std, inputSize[0]) || std.some((s) => s <= 0)) {
    throw new Error(`${source}: metadata ${META_KEYS.mean}/${META_KEYS.std} must hold one value per channel (std > 0)`);
  }
  const head = map.get(META_KEYS.head);
  if (head !== 'cosine' && head !== 'linear') throw new Error(`${source}: unknown classifier head "${String(head)}"`);
  const accuracyRaw = map.get(META_KEYS.accuracy);
  const added = map.has(META_KEYS.addedClasses) ? json(META_KEYS.addedClasses) : [];
  const readout = parseReadout(map, source);
  return {
    formatVersion,
    classNames: classNames as string[],
    inputLayout,
    inputSize: inputSize as [number, number, number],
    mean,
    std,
    model: map.get(META_KEYS.model) ?? 'unknown',
    head,
    method: map.get(META_KEYS.method) ?? 'unknown',
    dataset: map.get(META_KEYS.dataset),
    accuracy: accuracyRaw === undefined ? undefined : Number(accuracyRaw),
    addedClasses: Array.isArray(added) ? added.map(String) : [],
    readout,
    toolchainVersion: map.get(META_KEYS.toolchainVersion) ?? 'unknown',
  };
}

/** The readout entries of metadata: absent means the classifier (models exported before the key existed). */
function parseReadout(map: ReadonlyMap<string, string>, source: string): ReadoutInfo {
  const kind = map.get(META_KEYS.readout) ?? 'classifier';
  if (kind === 'classifier') return { kind };
  if (kind !== 'mahalanobis') throw new Error(`${source}: unknown readout "${kind}" in metadata ${META_KEYS.readout}`);
  const number = (key: string, ok: (v: number) => boolean, what: string): number => {
    const v = Number(map.get(key) ?? NaN);
    if (!ok(v)) throw new Error(`${source}: metadata ${key} must be ${what}, it is ${JSON.stringify(map.get(key) ?? null)}`);
    return v;
  };
  return {
    kind,
    priorStrength: number(META_KEYS.priorStrength, (v) => Number.isFinite(v) && v >= 0, 'a number >= 0'),
    shrinkage: number(META_KEYS.shrinkage, (v) => Number.isFinite(v) && v >= 0, 'a number >= 0'),
  };
}
