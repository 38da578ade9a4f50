/**
 * Edits of an exported model that need no graph rebuilding: appending classifier rows (classes added in the app).
 * Works on the decoded protobuf, so it runs in browsers too.
 */
import { DataType, makeTensorProto, tensorData, type ModelProto } from '../graph/onnx-proto.js';
import { CLASSIFIER_WEIGHT, formatModelInfo, PROBABILITIES_OUTPUT, rotationHeadWeight, type InferenceModelInfo } from '../export/metadata.js';

/** The classifier rows [classes, dim] of an exported model (of the head reading images rotated by `rotation`). */
export function classifierWeight(model: ModelProto, rotation = 0): { data: Float32Array; classes: number; dim: number } {
  const name = rotationHeadWeight(rotation);
  const t = model.graph.initializer.find((x) => x.name === name);
  if (!t) throw new Error(`the model has no ${name} initializer`);
  const dims = (t.dims ?? []).map(Number);
  if (dims.length !== 2) throw new Error(`${name} must be [classes, dim], it is [${dims.join(', ')}]`);
  return { data: tensorData(t) as Float32Array, classes: dims[0]!, dim: dims[1]! };
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
  for (const r of classifierRotations(model)) {
    const { classes } = classifierWeight(model, r);
    if (classes !== names) {
      throw new Error(`${source} is inconsistent: its metadata names ${names} classes but its classifier has ${classes} outputs (the file was edited or damaged); ${again}`);
    }
  }
  const width = Number(model.graph.output.find((o) => o.name === PROBABILITIES_OUTPUT)?.type?.tensor_type?.shape?.dim?.[1]?.dim_value ?? 0);
  if (width > 0 && width !== names) {
    throw new Error(`${source} is inconsistent: its metadata names ${names} classes but its output "${PROBABILITIES_OUTPUT}" has ${width} (the file was edited or damaged); ${again}`);
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
        throw new Error(`${source}: weight ${t.name} holds ${data[i]} values; the model is damaged or its training diverged: ${again}, or train again with a lower learning rate`);
      }
    }
  }
}

/**
 * Rotations (quarter turns counter-clockwise) read by the model's classifier heads: [0] for one head, [0, 1, 2, 3]
 * for an SPB-M rotation ensemble.
 * @example classifierRotations(model); // [0, 1, 2, 3]
 */
export function classifierRotations(model: ModelProto): number[] {
  const names = new Set(model.graph.initializer.map((t) => t.name));
  return [0, 1, 2, 3].filter((r) => names.has(rotationHeadWeight(r)));
}

/**
 * L2-normalised mean of L2-normalised feature rows: a class prototype, the rule SPB uses for new classes.
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
    const next = new Float32Array(data.length + added.length);
    next.set(data);
    next.set(added, data.length);
    total = classes + labels.length;
    const name = rotationHeadWeight(r);
    const index = model.graph.initializer.findIndex((x) => x.name === name);
    model.graph.initializer[index] = makeTensorProto(name, 'float32', [total, dim], next);
  }
  const out = model.graph.output.find((o) => o.name === PROBABILITIES_OUTPUT);
  const classDim = out?.type?.tensor_type?.shape?.dim?.[1];
  if (classDim) classDim.dim_value = total;
  if (out?.doc_string) out.doc_string = out.doc_string.replace(/\[batch, \d+\]/, `[batch, ${total}]`);
  const updated: InferenceModelInfo = {
    ...info,
    classNames: [...info.classNames, ...labels],
    addedClasses: [...info.addedClasses, ...labels],
  };
  model.metadata_props = [
    ...formatModelInfo(updated),
    ...(model.metadata_props ?? []).filter((p) => !p.key.startsWith('onnx_cil.')),
  ];
  return updated;
}
