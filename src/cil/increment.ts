/**
 * Adding classes to a trained model later, from data of the new classes only: one later phase on an image folder
 * of the method the checkpoint's method names for it (itself unless it says otherwise: see `incrementWith`), written
 * as the next phase checkpoint. What that phase does is the method's policy: train (SPB, SPB-M, SPB-I), or only
 * add prototypes and class statistics. Every input problem (known class, empty class, wrong image size) is
 * reported before any training starts.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { listImageFolder, loadImageFolder } from '../data/image-folder.js';
import { getModelSpec } from '../nn/models.js';
import type { Device } from '../runtime/backend.js';
import { loadCilCheckpoint, resolveCheckpointPath, RUN_FILES, saveCilCheckpoint, type CilCheckpointMeta } from './checkpoint.js';
import { IncrementalLearner, phaseSeed, type PhaseData, type TrainHooks } from './learner.js';
import { incrementMethod } from './methods/index.js';
import { removeStaleTemporaryFiles } from '../util/atomic-file.js';
import { lockFolder } from '../util/lock.js';
import { prepareOutputFolder } from '../util/output-folder.js';

export interface IncrementOptions {
  /** A run folder (its latest phase checkpoint) or a class-incremental checkpoint file. */
  from: string;
  /** Image folder with one sub-folder per new class. */
  data: string;
  /** Sub-folders to learn (default: all of them). */
  classes?: string[];
  /** Output checkpoint (default: phase-<N>.onnx beside the input checkpoint). */
  out?: string;
  /** Replace `out` when it exists (otherwise an existing file is refused). */
  force?: boolean;
  /** Resize images of another size instead of rejecting them. */
  resize?: boolean;
  epochsScale?: number;
  seed?: number;
  device?: Device;
  deviceId?: number;
  threads?: number;
  workers?: number;
}

export interface IncrementResult {
  checkpoint: string;
  phase: number;
  newClasses: string[];
  classNames: string[];
  trainImages: number;
  trainSeconds: number;
}

/**
 * Learns the classes of `data` on top of the checkpoint with one later phase of its method (or of the method that
 * method names for `increment`) and writes the next checkpoint.
 * @example await incrementModel({ from: 'runs/fmnist-mini-b5-p5-spb-s1', data: 'photos/new-classes' });
 */
export async function incrementModel(opts: IncrementOptions, hooks: TrainHooks & { onInfo?(message: string): void } = {}): Promise<IncrementResult> {
  if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed)) throw new Error(`the seed must be an integer, got ${opts.seed}`);
  if (opts.epochsScale !== undefined && !(Number.isFinite(opts.epochsScale) && opts.epochsScale > 0)) {
    throw new Error(`the epochs scale must be a number > 0, got ${opts.epochsScale}`);
  }
  const source = resolveCheckpointPath(opts.from);
  const { meta, state } = loadCilCheckpoint(source);
  const phase = meta.phase + 1;
  const out = opts.out ?? join(dirname(source), RUN_FILES.phase(phase));
  const refuseExisting = () => {
    if (existsSync(out) && !opts.force) throw new Error(`${out} already exists; pass --force to replace it, or choose another --out (nothing was overwritten)`);
  };
  refuseExisting();
  // The output folder is proven writable and locked before any image is decoded or any step trained.
  const folder = dirname(out);
  prepareOutputFolder(folder);
  const lock = lockFolder(folder, 'increment', hooks.onInfo);
  try {
    refuseExisting();
    removeStaleTemporaryFiles(folder, out);
    return await learnClasses(opts, hooks, { source, meta, state, phase, out });
  } finally {
    lock.release();
  }
}

async function learnClasses(
  opts: IncrementOptions,
  hooks: TrainHooks & { onInfo?(message: string): void },
  from: { source: string; out: string; phase: number } & ReturnType<typeof loadCilCheckpoint>,
): Promise<IncrementResult> {
  const { source, meta, state, phase, out } = from;

  // Validate the class list before decoding a single image.
  const folders = listImageFolder(opts.data);
  const wanted = opts.classes ?? folders.map((f) => f.name);
  if (wanted.length === 0) throw new Error('no classes to add');
  const known = new Set(meta.classNames);
  const already = wanted.filter((c) => known.has(c));
  if (already.length) {
    throw new Error(`the model already knows ${already.map((c) => `"${c}"`).join(', ')}; give only new classes (it knows: ${meta.classNames.join(', ')})`);
  }
  if (new Set(wanted).size !== wanted.length) throw new Error(`a class is listed twice in ${wanted.join(', ')}`);
  const [channels, height, width] = meta.inputShape;
  const data = await loadImageFolder(opts.data, {
    size: [height, width],
    channels: channels === 1 ? 1 : 3,
    sizePolicy: opts.resize ? 'resize' : 'require',
    classes: wanted,
    mean: meta.mean,
    std: meta.std,
  });

  const protocol = structuredClone(meta.protocol);
  if (opts.seed !== undefined) protocol.seed = opts.seed;
  const { method, policy, config } = incrementMethod(meta.method, meta.methodConfig);
  const schedule = { ...protocol.schedules.incremental, batchSize: Math.min(protocol.schedules.incremental.batchSize, data.count) };
  const learner = new IncrementalLearner(
    policy,
    {
      model: meta.model,
      spec: getModelSpec(meta.model),
      inputShape: meta.inputShape,
      backend: { device: opts.device ?? 'cpu', deviceId: opts.deviceId ?? 0, threads: opts.threads },
      evalBatchSize: protocol.evalBatchSize,
      workers: opts.workers ?? 1,
      seed: protocol.seed,
    },
    state,
  );
  const oldClasses = meta.classesSeen;
  const phaseData: PhaseData = {
    phase,
    train: data,
    labelMap: Int32Array.from(wanted, (_, i) => oldClasses + i),
    newIndices: Int32Array.from({ length: data.count }, (_, i) => i),
    oldClasses,
    newClasses: wanted.length,
    schedule,
    epochsScale: opts.epochsScale ?? meta.epochsScale ?? 1,
    augment: protocol.augmentation,
    bnMode: protocol.laterPhaseBn,
    seed: phaseSeed(protocol.seed, phase),
  };
  hooks.onInfo?.(
    `adding ${wanted.length} class${wanted.length > 1 ? 'es' : ''} (${wanted.join(', ')}; ${data.count} images) to the ${oldClasses} of ${source}`,
  );
  await learner.beforePhase(phaseData);
  const stats = await learner.train(phaseData, hooks);
  await learner.afterPhase(phaseData);
  const classNames = [...meta.classNames, ...wanted];
  const next: CilCheckpointMeta = {
    ...meta,
    method: method.name,
    methodConfig: config,
    protocol,
    classNames,
    phase,
    classesSeen: learner.state.classes,
    // -1: the class came from an image folder, not from the protocol's dataset.
    classOrder: [...meta.classOrder, ...wanted.map(() => -1)],
    progress: { completedPhases: phase + 1, current: null },
  };
  saveCilCheckpoint(out, learner, next);
  return { checkpoint: out, phase, newClasses: wanted, classNames, trainImages: stats.images, trainSeconds: stats.seconds };
}
