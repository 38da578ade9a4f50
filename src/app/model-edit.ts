/**
 * Edits of an exported model that need no graph rebuilding: appending classifier rows (classes added in the app).
 * Works on the decoded protobuf, so it runs in browsers too.
 */
import { makeTensorProto, tensorData, type ModelProto } from '../graph/onnx-proto.js';
import { CLASSIFIER_WEIGHT, formatModelInfo, PROBABILITIES_OUTPUT, type InferenceModelInfo } from '../export/metadata.js';

/** The classifier rows [classes, dim] of an exported model. */
export function classifierWeight(model: ModelProto): { data: Float32Array; classes: number; dim: number } {
  const t = model.graph.initializer.find((x) => x.name === CLASSIFIER_WEIGHT);
  if (!t) throw new Error(`the model has no ${CLASSIFIER_WEIGHT} initializer`);
  const dims = (t.dims ?? []).map(Number);
  if (dims.length !== 2) throw new Error(`${CLASSIFIER_WEIGHT} must be [classes, dim], it is [${dims.join(', ')}]`);
  return { data: tensorData(t) as Float32Array, classes: dims[0]!, dim: dims[1]! };
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
 * bit-identical. Mutates and returns `model`.
 * @example appendClassifierRows(model, info, prototype, ['Mug']);
 */
export function appendClassifierRows(model: ModelProto, info: InferenceModelInfo, rows: Float32Array, labels: readonly string[]): InferenceModelInfo {
  const { data, classes, dim } = classifierWeight(model);
  if (rows.length !== labels.length * dim) throw new Error(`${labels.length} new classes need ${labels.length * dim} values, got ${rows.length}`);
  const next = new Float32Array(data.length + rows.length);
  next.set(data);
  next.set(rows, data.length);
  const total = classes + labels.length;
  const index = model.graph.initializer.findIndex((x) => x.name === CLASSIFIER_WEIGHT);
  model.graph.initializer[index] = makeTensorProto(CLASSIFIER_WEIGHT, 'float32', [total, dim], next);
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
