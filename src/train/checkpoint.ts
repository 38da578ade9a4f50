/**
 * Checkpoints are ONNX files: a runnable inference graph whose weights are named initializers (any ONNX tool opens
 * them), plus other model state (class statistics) as extra initializers and the run's metadata as JSON in
 * metadata_props. State that only resuming needs (optimiser velocities, a frozen teacher) is stored as ONNX external
 * data in companion files beside the checkpoint, one per kind (`checkpoint.onnx.velocity-<hash>.bin`): a finished
 * model stays one file to pass around, and a mid-run checkpoint splits into files that each stay small enough to
 * keep in version control. The hash in a companion's name is its content's, which lets a save write new companions
 * before the checkpoint that points at them (a crash leaves the old checkpoint with its old companions intact) and
 * lets a load detect a damaged or mismatched companion.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GraphBuilder, sizeOf, type Value } from '../graph/builder.js';
import { decodeModel, encodeModel, makeTensorProto, tensorData, type ModelProto, type TensorProto } from '../graph/onnx-proto.js';
import { ConstantParams, type StateDict } from '../nn/params.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { velocityName } from './training-graph.js';

/** metadata_props key holding the checkpoint's JSON metadata. */
export const CHECKPOINT_META_KEY = 'onnx_cil.checkpoint';
/** 2: resume-only state lives in companion files (external data). 1 (one file) is still read. */
export const CHECKPOINT_FORMAT_VERSION = 2;

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
  /**
   * Name prefixes of the state only resuming needs, kept in companion files (one per prefix); default: the
   * optimiser velocities.
   */
  companionPrefixes?: readonly string[];
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

/** The checkpoint as one ONNX model with every tensor inline; weights that are not finite are refused. */
function buildCheckpointModel<M extends object>(opts: SaveCheckpointOptions<M>): { model: ModelProto; resumeState: Map<string, string> } {
  const bad = firstNonFinite(opts.state);
  if (bad) throw new Error(`cannot save the checkpoint: ${bad.name} holds ${bad.value} values, so training diverged; train again with a lower learning rate`);
  const g = new GraphBuilder('checkpoint');
  const params = new ConstantParams(g, 'eval', opts.state);
  const x = g.input('input', 'float32', [-1, ...opts.inputShape]);
  const outputs = opts.inference({ graph: g, params, x });
  for (const [name, v] of Object.entries(outputs)) g.output(v, name);
  const meta = { ...opts.meta, format: 'onnx-cil-checkpoint', version: CHECKPOINT_FORMAT_VERSION };
  const model = g.toModel({ metadata: { [CHECKPOINT_META_KEY]: JSON.stringify(meta) }, docString: 'onnx-cil checkpoint' });
  const stored = new Set(model.graph.initializer.map((t) => t.name));
  const prefixes = opts.companionPrefixes ?? [velocityName('')];
  /** Resume-only tensor name -> its companion kind (the prefix without its trailing dot). */
  const resumeState = new Map<string, string>();
  for (const [name, data] of opts.state) {
    if (stored.has(name)) continue;
    const shape = opts.shapes.get(name);
    if (!shape) throw new Error(`no shape recorded for state "${name}"`);
    model.graph.initializer.push(makeTensorProto(name, 'float32', shape, data));
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (prefix !== undefined) resumeState.set(name, prefix.replace(/[^A-Za-z0-9_]/g, '') || 'state');
  }
  return { model, resumeState };
}

/**
 * Encodes a checkpoint as one self-contained file (every tensor inline); weights that are not finite (a diverged
 * run) are refused. `saveCheckpoint` moves the resume-only state into companion files instead.
 * @example const bytes = encodeCheckpoint({ meta, state, shapes, inputShape: [1, 28, 28], inference });
 */
export function encodeCheckpoint<M extends object>(opts: SaveCheckpointOptions<M>): Uint8Array {
  return encodeModel(buildCheckpointModel(opts).model);
}

/** A companion file: the raw values of one kind of resume-only state. */
export interface CompanionFile {
  /** File name beside the checkpoint: `<checkpoint name>.<kind>-<16 hex digits of its SHA-256>.bin`. */
  name: string;
  bytes: Uint8Array;
}

/** `<checkpoint>.<kind>-<hash>.bin`; the kind names the state's prefix (velocity, teacher). */
const COMPANION_NAME = /^(.+)\.([A-Za-z0-9_]+)-([0-9a-f]{16})\.bin$/;

const contentHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/**
 * Moves the resume-only tensors of `model` into companion files, one per kind, and points the tensors at them with
 * ONNX external data (location, offset, length).
 */
function externalizeResumeState(model: ModelProto, resumeState: ReadonlyMap<string, string>, checkpointName: string): CompanionFile[] {
  const byKind = new Map<string, TensorProto[]>();
  for (const t of model.graph.initializer) {
    const kind = resumeState.get(t.name!);
    if (kind === undefined) continue;
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind)!.push(t);
  }
  const companions: CompanionFile[] = [];
  for (const [kind, tensors] of byKind) {
    const bytes = new Uint8Array(tensors.reduce((n, t) => n + t.raw_data!.byteLength, 0));
    let end = 0;
    const ranges = tensors.map((t) => {
      const range = { offset: end, length: t.raw_data!.byteLength };
      bytes.set(t.raw_data!, end);
      end += range.length;
      return range;
    });
    // The name depends on the content, so it is known only once every tensor is packed.
    const name = `${checkpointName}.${kind}-${contentHash(bytes)}.bin`;
    tensors.forEach((t, i) => {
      delete t.raw_data;
      t.data_location = 1;
      t.external_data = [
        { key: 'location', value: name },
        { key: 'offset', value: String(ranges[i]!.offset) },
        { key: 'length', value: String(ranges[i]!.length) },
      ];
    });
    companions.push({ name, bytes });
  }
  return companions;
}

/**
 * The checkpoint file and its companion files, as `saveCheckpoint` writes them for a checkpoint named
 * `checkpointName`.
 * @example const { checkpoint, companions } = encodeCheckpointFiles(opts, 'checkpoint.onnx');
 */
export function encodeCheckpointFiles<M extends object>(
  opts: SaveCheckpointOptions<M>,
  checkpointName: string,
): { checkpoint: Uint8Array; companions: CompanionFile[] } {
  const { model, resumeState } = buildCheckpointModel(opts);
  const companions = externalizeResumeState(model, resumeState, checkpointName);
  return { checkpoint: encodeModel(model), companions };
}

/**
 * Writes a checkpoint atomically: its companion files first (each atomically, named by content), then the
 * checkpoint (temporary file + rename), then removes this checkpoint's companions that it no longer names.
 * @example saveCheckpoint('runs/x/checkpoint.onnx', { meta, state, shapes, inputShape, inference });
 */
export function saveCheckpoint<M extends object>(path: string, opts: SaveCheckpointOptions<M>): void {
  const dir = dirname(path);
  const { checkpoint, companions } = encodeCheckpointFiles(opts, basename(path));
  for (const c of companions) writeFileAtomic(join(dir, c.name), c.bytes);
  writeFileAtomic(path, checkpoint);
  const current = new Set(companions.map((c) => c.name));
  for (const stale of companionFiles(path).filter((n) => !current.has(n))) {
    try {
      unlinkSync(join(dir, stale));
    } catch {
      // removed meanwhile
    }
  }
}

/**
 * The companion files of the checkpoint at `path` present beside it (stale ones included).
 * @example companionFiles('runs/x/checkpoint.onnx'); // ['checkpoint.onnx.velocity-0123456789abcdef.bin']
 */
export function companionFiles(path: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  return names.filter((n) => COMPANION_NAME.exec(n)?.[1] === basename(path)).sort();
}

/**
 * Reads a checkpoint; a missing, truncated, corrupt or foreign file, or one with NaN or infinite weights, gives a
 * clear error.
 * @example const { state, meta } = loadCheckpoint('runs/x/checkpoint.onnx');
 */
export function loadCheckpoint<M extends object = Record<string, unknown>>(path: string): CheckpointContents<M> {
  if (!existsSync(path)) throw new Error(`checkpoint ${path} does not exist`);
  return decodeCheckpoint<M>(readFileSync(path), path, dirname(path));
}

/** Reads each companion file once, checking that its content still matches the hash in its name. */
function companionReader(source: string, dir: string | undefined): (t: TensorProto) => Uint8Array {
  const files = new Map<string, Uint8Array>();
  return (t) => {
    const field = (key: string) => t.external_data?.find((e) => e.key === key)?.value;
    const location = field('location');
    const offset = Number(field('offset') ?? 0);
    const length = Number(field('length'));
    const match = location === undefined ? null : COMPANION_NAME.exec(location);
    if (!location || !match || location !== basename(location) || !Number.isInteger(offset) || !Number.isInteger(length)) {
      throw new Error(`${source}: tensor ${t.name} points at external data this onnx-cil does not write (${location ?? 'no location'})`);
    }
    if (dir === undefined)
      throw new Error(`${source}: tensor ${t.name} lives in the companion file ${location}; load the checkpoint from its file so the companion can be found`);
    let bytes = files.get(location);
    if (!bytes) {
      const file = join(dir, location);
      if (!existsSync(file)) throw new Error(`${source} needs its companion file ${location} beside it; copy the checkpoint together with its .bin companions`);
      bytes = new Uint8Array(readFileSync(file));
      if (contentHash(bytes) !== match[3])
        throw new Error(
          `${source}: companion file ${location} is damaged or truncated (its content does not match its name); restore it, or use another checkpoint`,
        );
      files.set(location, bytes);
    }
    if (offset < 0 || offset + length > bytes.byteLength) throw new Error(`${source}: companion file ${location} is too short for tensor ${t.name}`);
    return bytes.subarray(offset, offset + length);
  };
}

/**
 * Decodes checkpoint bytes; `companionDir` is the folder its companion files are read from (loadCheckpoint passes
 * the checkpoint's own folder).
 * @example const { state } = decodeCheckpoint(readFileSync(path), path, dirname(path));
 */
export function decodeCheckpoint<M extends object = Record<string, unknown>>(
  bytes: Uint8Array,
  source = 'checkpoint',
  companionDir?: string,
): CheckpointContents<M> {
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
  const readCompanion = companionReader(source, companionDir);
  for (const t of model.graph.initializer) {
    if (!t.name || t.name.startsWith('const_')) continue;
    if (t.data_location === 1) {
      t.raw_data = readCompanion(t);
      t.data_location = 0;
    }
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
