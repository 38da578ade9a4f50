/**
 * Edits of an exported model that need no graph rebuilding: appending what classes added in the app need, i.e.
 * classifier rows (prototypes) or Gaussian class statistics, as the model's readout says. Works on the decoded
 * protobuf, so it runs in browsers too.
 */
import {
  formatModelInfo,
  MAHALANOBIS_MEANS,
  MAHALANOBIS_POOLED_COVARIANCE,
  MAHALANOBIS_PRECISIONS,
  PROBABILITIES_OUTPUT,
  rotationHeadWeight,
  type InferenceModelInfo,
} from '../export/metadata.js';
import { DataType, makeTensorProto, tensorData, type ModelProto } from '../graph/onnx-proto.js';
import { classMoments, shrunkCovariance, spdInverse, type ShrinkageOptions } from '../nn/class-statistics.js';

/** A float32 initializer of the model with its dims, checked against the rank its role needs. */
function initializerOf(model: ModelProto, name: string, rank: number, shape: string): { data: Float32Array; dims: number[] } {
  const t = model.graph.initializer.find((x) => x.name === name);
  if (!t) throw new Error(`the model has no ${name} initializer`);
  const dims = (t.dims ?? []).map(Number);
  if (dims.length !== rank) throw new Error(`${name} must be ${shape}, it is [${dims.join(', ')}]`);
  return { data: tensorData(t) as Float32Array, dims };
}

/** Replaces the initializer `name` with `data` of shape `dims`. */
function replaceInitializer(model: ModelProto, name: string, dims: number[], data: Float32Array): void {
  const index = model.graph.initializer.findIndex((x) => x.name === name);
  model.graph.initializer[index] = makeTensorProto(name, 'float32', dims, data);
}

/** `old` followed by `added`. */
function concatenated(old: Float32Array, added: Float32Array): Float32Array {
  const out = new Float32Array(old.length + added.length);
  out.set(old);
  out.set(added, old.length);
  return out;
}

/** The classifier rows [classes, dim] of an exported model (of the head reading images rotated by `rotation`). */
export function classifierWeight(model: ModelProto, rotation = 0): { data: Float32Array; classes: number; dim: number } {
  const { data, dims } = initializerOf(model, rotationHeadWeight(rotation), 2, '[classes, dim]');
  return { data, classes: dims[0]!, dim: dims[1]! };
}

/**
 * The Mahalanobis readout's statistics of a model: class means [classes, dim], precisions [classes, dim, dim] and
 * the pooled covariance [dim, dim] that new classes' covariances are shrunk towards.
 * @example const { classes, dim } = mahalanobisStatistics(decodeModel(bytes));
 */
export function mahalanobisStatistics(model: ModelProto): {
  means: Float32Array;
  precisions: Float32Array;
  pooled: Float32Array;
  classes: number;
  dim: number;
} {
  const means = initializerOf(model, MAHALANOBIS_MEANS, 2, '[classes, dim]');
  const [classes, dim] = means.dims as [number, number];
  const precisions = initializerOf(model, MAHALANOBIS_PRECISIONS, 3, '[classes, dim, dim]');
  const pooled = initializerOf(model, MAHALANOBIS_POOLED_COVARIANCE, 2, '[dim, dim]');
  if (precisions.dims.join() !== [classes, dim, dim].join() || pooled.dims.join() !== [dim, dim].join()) {
    throw new Error(
      `the Gaussian statistics do not fit together: means [${means.dims.join(', ')}], precisions [${precisions.dims.join(', ')}], pooled covariance [${pooled.dims.join(', ')}]`,
    );
  }
  return { means: means.data, precisions: precisions.data, pooled: pooled.data, classes, dim };
}

/** Number of classes the model's readout holds entries for, per readout part (every head, or the statistics). */
function readoutClassCounts(model: ModelProto, info: InferenceModelInfo): number[] {
  if (info.readout.kind === 'mahalanobis') return [mahalanobisStatistics(model).classes];
  return classifierRotations(model).map((r) => classifierWeight(model, r).classes);
}

/**
 * Checks what `parseModelInfo` cannot see in the metadata alone: that the class names match the classifier's output
 * width (a longer or shorter list would shift every label) and that every weight is finite (one NaN row makes every
 * prediction NaN). Throws one line naming the problem.
 * @example checkModelConsistency(decodeModel(bytes), info, 'model.onnx');
 */
export function checkModelConsistency(model: ModelProto, info: InferenceModelInfo, source = 'the model'): void {
  const names = info.classNames.length;
  const again = 'export it again from its checkpoint (onnx-cil export)';
  let counts: number[];
  try {
    counts = readoutClassCounts(model, info);
  } catch (err) {
    throw new Error(`${source} is inconsistent: ${(err as Error).message} (the file was edited or damaged); ${again}`);
  }
  for (const classes of counts) {
    if (classes !== names) {
      throw new Error(
        `${source} is inconsistent: its metadata names ${names} classes but its classifier has ${classes} outputs (the file was edited or damaged); ${again}`,
      );
    }
  }
  const width = Number(model.graph.output.find((o) => o.name === PROBABILITIES_OUTPUT)?.type?.tensor_type?.shape?.dim?.[1]?.dim_value ?? 0);
  if (width > 0 && width !== names) {
    throw new Error(
      `${source} is inconsistent: its metadata names ${names} classes but its output "${PROBABILITIES_OUTPUT}" has ${width} (the file was edited or damaged); ${again}`,
    );
  }
  for (const t of model.graph.initializer) {
    if (t.data_type !== DataType.FLOAT) continue;
    let data: Float32Array;
    try {
      data = tensorData(t) as Float32Array;
    } catch (err) {
      throw new Error(`${source}: weight ${t.name} is unreadable (${(err as Error).message}); ${again}`);
    }
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) {
        throw new Error(
          `${source}: weight ${t.name} holds ${data[i]} values; the model is damaged or its training diverged: ${again}, or train again with a lower learning rate`,
        );
      }
    }
  }
}

/**
 * Rotations (quarter turns counter-clockwise) read by the model's classifier heads: [0] for one head, [0, 1, 2, 3]
 * for a rotation ensemble of four heads.
 * @example classifierRotations(model); // [0, 1, 2, 3]
 */
export function classifierRotations(model: ModelProto): number[] {
  const names = new Set(model.graph.initializer.map((t) => t.name));
  return [0, 1, 2, 3].filter((r) => names.has(rotationHeadWeight(r)));
}

/**
 * L2-normalised mean of L2-normalised feature rows: a class prototype, the rule training uses for new classifier rows.
 * @example const row = prototypeOf(features, 64); // features: [n * 64] rows from the model's `features` output
 */
export function prototypeOf(features: Float32Array, dim: number): Float32Array {
  const n = features.length / dim;
  if (!Number.isInteger(n) || n < 1) throw new Error('a prototype needs at least one feature row');
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += features[r * dim + j]! * features[r * dim + j]!;
    const inv = 1 / Math.sqrt(ss + 1e-12);
    for (let j = 0; j < dim; j++) mean[j]! += features[r * dim + j]! * inv;
  }
  let ss = 0;
  for (let j = 0; j < dim; j++) ss += mean[j]! * mean[j]!;
  const inv = 1 / Math.sqrt(ss + 1e-12);
  return Float32Array.from(mean, (v) => v * inv);
}

/**
 * Appends classifier rows (one per new label) and rewrites the class-count dimension and metadata; old rows stay
 * bit-identical. A rotation ensemble needs rows for every head: a map from rotation to rows. Mutates and returns
 * `model`.
 * @example appendClassifierRows(model, info, prototype, ['Mug']);
 */
export function appendClassifierRows(
  model: ModelProto,
  info: InferenceModelInfo,
  rows: Float32Array | ReadonlyMap<number, Float32Array>,
  labels: readonly string[],
): InferenceModelInfo {
  const rotations = classifierRotations(model);
  const perHead = rows instanceof Float32Array ? new Map([[0, rows]]) : rows;
  const missing = rotations.filter((r) => !perHead.has(r));
  if (missing.length) throw new Error(`the model has ${rotations.length} classifier heads; rows for rotation ${missing.join(', ')} are missing`);
  let total = 0;
  for (const r of rotations) {
    const { data, classes, dim } = classifierWeight(model, r);
    const added = perHead.get(r)!;
    if (added.length !== labels.length * dim) throw new Error(`${labels.length} new classes need ${labels.length * dim} values, got ${added.length}`);
    total = classes + labels.length;
    replaceInitializer(model, rotationHeadWeight(r), [total, dim], concatenated(data, added));
  }
  return withClasses(model, info, total, labels);
}

/**
 * The Gaussian statistics of one new class from the unit features [n, dim] of its images: their mean, and the
 * precision matrix of their covariance regularised as in training (blended with the pooled covariance by the image
 * count, then ridged), so that one image already gives a positive-definite covariance.
 * @example const { mean, precision } = classStatisticsOf(features, 64, pooled, { priorStrength: 20, shrinkage: 0.1 });
 */
export function classStatisticsOf(
  features: Float32Array,
  dim: number,
  pooled: ArrayLike<number>,
  options: ShrinkageOptions,
): { mean: Float32Array; precision: Float32Array } {
  const n = features.length / dim;
  if (!Number.isInteger(n) || n < 1) throw new Error('class statistics need at least one feature row');
  const m = classMoments(features, new Int32Array(n), dim, [0]);
  // Stored as float32 like the learner's statistics, so both compute the precision from the same values.
  const sigma = shrunkCovariance(Float32Array.from(m.covariances), n, pooled, dim, options);
  return { mean: Float32Array.from(m.means), precision: Float32Array.from(spdInverse(sigma, dim)) };
}

/**
 * Appends the Gaussian statistics of new classes, one per label, from the unit features of their images
 * (`features[i]`: [n_i, dim]), regularised with the model's pooled covariance and options; rewrites the class-count
 * dimension and metadata. Old classes' statistics stay bit-identical. Mutates and returns `model`'s info.
 * @example appendClassStatistics(model, info, [mugFeatures], ['Mug']);
 */
export function appendClassStatistics(
  model: ModelProto,
  info: InferenceModelInfo,
  features: readonly Float32Array[],
  labels: readonly string[],
): InferenceModelInfo {
  const readout = info.readout;
  if (readout.kind !== 'mahalanobis') throw new Error('the model does not read out with Gaussian class statistics');
  if (features.length !== labels.length) throw new Error(`${labels.length} new classes need ${labels.length} feature blocks, got ${features.length}`);
  const { means, precisions, pooled, classes, dim } = mahalanobisStatistics(model);
  const added = features.map((f) => classStatisticsOf(f, dim, pooled, readout));
  const total = classes + labels.length;
  replaceInitializer(model, MAHALANOBIS_MEANS, [total, dim], concatenated(means, concatenatedAll(added.map((a) => a.mean))));
  replaceInitializer(model, MAHALANOBIS_PRECISIONS, [total, dim, dim], concatenated(precisions, concatenatedAll(added.map((a) => a.precision))));
  return withClasses(model, info, total, labels);
}

/** The arrays one after another. */
function concatenatedAll(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Rewrites the output's class dimension and the metadata for `labels` appended to `total` classes. */
function withClasses(model: ModelProto, info: InferenceModelInfo, total: number, labels: readonly string[]): InferenceModelInfo {
  const out = model.graph.output.find((o) => o.name === PROBABILITIES_OUTPUT);
  const classDim = out?.type?.tensor_type?.shape?.dim?.[1];
  if (classDim) classDim.dim_value = total;
  if (out?.doc_string) out.doc_string = out.doc_string.replace(/\[batch, \d+\]/, `[batch, ${total}]`);
  const updated: InferenceModelInfo = {
    ...info,
    classNames: [...info.classNames, ...labels],
    addedClasses: [...info.addedClasses, ...labels],
  };
  model.metadata_props = [...formatModelInfo(updated), ...(model.metadata_props ?? []).filter((p) => !p.key.startsWith('onnx_cil.'))];
  return updated;
}
