/**
 * Checkpoints are ONNX files: a runnable inference graph whose weights are named initializers (any ONNX tool opens
 * them), plus the optimiser state as extra initializers and the run's metadata as JSON in metadata_props.
 */
import { existsSync, readFileSync } from 'node:fs';
import { GraphBuilder, sizeOf, type Value } from '../graph/builder.js';
import { decodeModel, encodeModel, makeTensorProto, tensorData, type ModelProto } from '../graph/onnx-proto.js';
import { ConstantParams, type StateDict } from '../nn/params.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/** metadata_props key holding the checkpoint's JSON metadata. */
export const CHECKPOINT_META_KEY = 'onnx_cil.checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;

export interface CheckpointMeta {
  format: 'onnx-cil-checkpoint';
  version: number;
  [key: string]: unknown;
}

export interface CheckpointContents<M> {
  meta: M & CheckpointMeta;
  state: StateDict;
  shapes: Map<string, number[]>;
}

export interface SaveCheckpointOptions<M> {
  meta: M;
  state: StateDict;
  shapes: ReadonlyMap<string, readonly number[]>;
  /** Input [C, H, W] of the inference graph (batch is dynamic). */
  inputShape: readonly [number, number, number];
  /** Builds the inference graph over the saved weights; returns named outputs. */
  inference(ctx: { graph: GraphBuilder; params: ConstantParams; x: Value }): Record<string, Value>;
}

/**
 * The first tensor holding NaN or an infinity, with that value; null when every value is finite.
 * @example firstNonFinite(state); // { name: 'fc.weight', value: NaN }
 */
export function firstNonFinite(state: StateDict): { name: string; value: number } | null {
  for (const [name, data] of state) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return { name, value: data[i]! };
  }
  return null;
}

/**
 * Encodes a checkpoint; weights that are not finite (a diverged run) are refused.
 * @example const bytes = encodeCheckpoint({ meta, state, shapes, inputShape: [1, 28, 28], inference });
 */
export function encodeCheckpoint<M extends object>(opts: SaveCheckpointOptions<M>): Uint8Array {
  const bad = firstNonFinite(opts.state);
  if (bad) throw new Error(`cannot save the checkpoint: ${bad.name} holds ${bad.value} values, so training diverged; train again with a lower learning rate`);
  const g = new GraphBuilder('checkpoint');
  const params = new ConstantParams(g, 'eval', opts.state);
  const x = g.input('input', 'float32', [-1, ...opts.inputShape]);
  const outputs = opts.inference({ graph: g, params, x });
  for (const [name, v] of Object.entries(outputs)) g.output(v, name);
  const meta = { format: 'onnx-cil-checkpoint', version: CHECKPOINT_FORMAT_VERSION, ...opts.meta };
  const model = g.toModel({ metadata: { [CHECKPOINT_META_KEY]: JSON.stringify(meta) }, docString: 'onnx-cil checkpoint' });
  const stored = new Set(model.graph.initializer.map((t) => t.name));
  for (const [name, data] of opts.state) {
    if (stored.has(name)) continue;
    const shape = opts.shapes.get(name);
    if (!shape) throw new Error(`no shape recorded for state "${name}"`);
    model.graph.initializer.push(makeTensorProto(name, 'float32', shape, data));
  }
  return encodeModel(model);
}

/**
 * Writes a checkpoint atomically (temporary file + rename).
 * @example saveCheckpoint('runs/x/checkpoint.onnx', { meta, state, shapes, inputShape, inference });
 */
export function saveCheckpoint<M extends object>(path: string, opts: SaveCheckpointOptions<M>): void {
  writeFileAtomic(path, encodeCheckpoint(opts));
}

/**
 * Reads a checkpoint; a missing, truncated, corrupt or foreign file, or one with NaN or infinite weights, gives a
 * clear error.
 * @example const { state, meta } = loadCheckpoint('runs/x/checkpoint.onnx');
 */
export function loadCheckpoint<M extends object = Record<string, unknown>>(path: string): CheckpointContents<M> {
  if (!existsSync(path)) throw new Error(`checkpoint ${path} does not exist`);
  return decodeCheckpoint<M>(readFileSync(path), path);
}

export function decodeCheckpoint<M extends object = Record<string, unknown>>(bytes: Uint8Array, source = 'checkpoint'): CheckpointContents<M> {
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new Error(`${source} is corrupt or truncated (${(err as Error).message}); restore it, or use another checkpoint`);
  }
  const raw = model.metadata_props?.find((p) => p.key === CHECKPOINT_META_KEY)?.value;
  if (!raw) throw new Error(`${source} is an ONNX model but not an onnx-cil checkpoint (no ${CHECKPOINT_META_KEY} metadata)`);
  let meta: M & CheckpointMeta;
  try {
    meta = JSON.parse(raw);
  } catch {
    throw new Error(`${source} has unreadable checkpoint metadata`);
  }
  if (meta.format !== 'onnx-cil-checkpoint' || typeof meta.version !== 'number' || meta.version > CHECKPOINT_FORMAT_VERSION) {
    throw new Error(`${source} uses checkpoint format ${String(meta.version)}, this onnx-cil reads up to ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const state: StateDict = new Map();
  const shapes = new Map<string, number[]>();
  for (const t of model.graph.initializer) {
    if (!t.name || t.name.startsWith('const_')) continue;
    let data: ReturnType<typeof tensorData>;
    try {
      data = tensorData(t);
    } catch (err) {
      throw new Error(`${source}: tensor ${t.name} is unreadable (${(err as Error).message})`);
    }
    if (!(data instanceof Float32Array)) continue;
    const dims = (t.dims ?? []).map(Number);
    if (data.length !== sizeOf(dims)) throw new Error(`${source}: tensor ${t.name} is truncated`);
    state.set(t.name, data);
    shapes.set(t.name, dims);
  }
  const bad = firstNonFinite(state);
  if (bad) {
    throw new Error(
      `${source}: tensor ${bad.name} holds ${bad.value} values (its training diverged or the file is damaged); use an earlier checkpoint, or train again with a lower learning rate`,
    );
  }
  return { meta, state, shapes };
}
