/**
 * Plain supervised training of a backbone + head on one dataset: the `onnx-cil train` job.
 * Resumable: a checkpoint is written atomically after every epoch, and a rerun with `resume` continues from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { buildLabelMap } from '../data/batches.js';
import type { ImageDataset } from '../data/dataset.js';
import { getDatasetSpec, loadDataset } from '../data/registry.js';
import { crossEntropy } from '../nn/functional.js';
import { HEADS } from '../nn/heads.js';
import { buildBackbone, getModelSpec } from '../nn/models.js';
import type { ParamSource, StateDict } from '../nn/params.js';
import type { Device } from '../runtime/backend.js';
import { removeStaleTemporaryFiles, writeFileAtomic } from '../util/atomic-file.js';
import { lockFolder } from '../util/lock.js';
import { prepareOutputFolder, removeRunOutputs, runOutputsIn } from '../util/output-folder.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { accuracy, predict } from './evaluate.js';
import { batchesPerEpoch, trainEpochs, type EpochEvent, type StepEvent } from './loop.js';
import { scheduleFactor, type Schedule } from './schedule.js';
import { EvalSession, TrainingSession } from './session.js';
import { buildEvalGraph, buildTrainingGraph, velocityName } from './training-graph.js';

export const TrainConfigSchema = z.object({
  dataset: z.string().default('fashion-mnist-mini'),
  dataPath: z.string().optional(),
  model: z.string().default('convnet'),
  head: z.enum(['cosine', 'linear']).default('cosine'),
  epochs: z.number().int().positive().default(5),
  batchSize: z.number().int().positive().default(128),
  lr: z.number().positive().default(0.1),
  momentum: z.number().min(0).max(1).default(0.9),
  weightDecay: z.number().min(0).default(5e-4),
  nesterov: z.boolean().default(false),
  schedule: z.enum(['cosine', 'step', 'constant']).default('cosine'),
  /** Epochs at which a step schedule multiplies the rate by `gamma`. */
  milestones: z.array(z.number().positive()).default([]),
  gamma: z.number().positive().default(0.1),
  /** Epochs (may be fractional) of linear learning-rate warm-up at the start. */
  warmupEpochs: z.number().min(0).default(0),
  /** Random-crop padding in pixels (default: the dataset's) and horizontal flips. */
  cropPadding: z.number().int().min(0).optional(),
  flip: z.boolean().optional(),
  seed: z.number().int().default(1),
  device: z.enum(['cpu', 'cuda', 'auto']).default('cpu'),
  deviceId: z.number().int().min(0).default(0),
  threads: z.number().int().positive().optional(),
  workers: z.number().int().min(0).default(1),
  evalBatchSize: z.number().int().positive().default(256),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export interface TrainResult {
  testAccuracy: number;
  trainAccuracy: number;
  epochs: number;
  imagesPerSecond: number;
  wallSeconds: number;
  checkpoint: string;
  device: string;
  history: { epoch: number; loss: number; trainAccuracy: number; seconds: number }[];
}

/** Fields every onnx-cil checkpoint carries, whatever trained it (export and the app read these). */
export interface ModelMeta {
  /** Backbone name from models/. */
  model: string;
  head: 'cosine' | 'linear';
  /** Class names in output order. */
  classNames: string[];
  /** [C, H, W] of the network input. */
  inputShape: [number, number, number];
  /** Per-channel normalisation on [0, 1] pixels. */
  mean: number[];
  std: number[];
  dataset: string;
}

interface ClassifierMeta extends ModelMeta {
  kind: 'classifier';
  config: TrainConfig;
  completedEpochs: number;
  history: TrainResult['history'];
  trainSeconds: number;
  trainImages: number;
}

export interface TrainHooks {
  onStep?(e: StepEvent): void;
  onEpoch?(e: EpochEvent & { testAccuracy?: number }): void;
  onInfo?(message: string): void;
}

function scheduleOf(cfg: TrainConfig, perEpoch: number): Schedule {
  const warmup = Math.round(cfg.warmupEpochs * perEpoch);
  if (cfg.schedule === 'cosine') return { kind: 'cosine', warmup };
  if (cfg.schedule === 'constant') return { kind: 'constant', warmup };
  return { kind: 'multistep', milestones: cfg.milestones.map((m) => Math.round(m * perEpoch)), gamma: cfg.gamma, warmup };
}

/** Forward of backbone + head, shared by the training, evaluation and checkpoint graphs. */
function classifierForward(cfg: TrainConfig, classes: number) {
  const spec = getModelSpec(cfg.model);
  return (params: ParamSource, x: Parameters<typeof buildBackbone>[2]) => {
    params.group = 'backbone';
    const { features } = buildBackbone(spec, params, x);
    params.group = 'classifier';
    const logits = HEADS[cfg.head](params, 'fc', features, classes);
    params.group = 'backbone';
    return { features, logits };
  };
}

function checkInput(ds: ImageDataset, batchSize: number): void {
  if (ds.count === 0) throw new Error(`dataset ${ds.name} has no images`);
  if (batchSize > ds.count) throw new Error(`--batch-size ${batchSize} is larger than the ${ds.count} training images of ${ds.name}; use at most ${ds.count}`);
}

/** What `trainClassifier` does with an output folder that already holds a run. */
export interface TrainOutputOptions {
  outDir: string;
  /** Continue the run in `outDir` from its last finished epoch. */
  resume?: boolean;
  /** Replace the run in `outDir` (its files are removed first). */
  force?: boolean;
}

/** A `train` run folder's config.json, or null; a class-incremental run's config is a clear error. */
function savedTrainConfig(outDir: string): unknown {
  const path = join(outDir, 'config.json');
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${path} is unreadable; delete it or start again with --force`);
  }
  if (raw && typeof raw === 'object' && 'protocol' in raw) {
    throw new Error(
      `${outDir} holds a class-incremental run (written by \`onnx-cil run\`), not a \`train\` run; continue it with \`onnx-cil run --resume --out ${outDir}\`, or choose another --out`,
    );
  }
  return raw;
}

/**
 * Trains a classifier, evaluating on the test split after every epoch. The output folder is locked while the run
 * lasts; a folder that holds a run is refused unless `resume` or `force` is given.
 * @example const result = await trainClassifier(TrainConfigSchema.parse({ epochs: 1 }), { outDir: 'runs/demo' });
 */
export async function trainClassifier(cfg: TrainConfig, opts: TrainOutputOptions & TrainHooks): Promise<TrainResult> {
  getModelSpec(cfg.model);
  // The training split first: a batch larger than the data fails here, before any folder is created.
  const train = loadDataset(cfg.dataset, 'train', { dataPath: cfg.dataPath });
  checkInput(train, cfg.batchSize);
  prepareOutputFolder(opts.outDir);
  const lock = lockFolder(opts.outDir, 'train', opts.onInfo);
  try {
    const stale = removeStaleTemporaryFiles(opts.outDir);
    if (stale.length) opts.onInfo?.(`removed ${stale.length} temporary file${stale.length > 1 ? 's' : ''} of killed processes from ${opts.outDir}`);
    const existing = runOutputsIn(opts.outDir);
    if (existing.length && !opts.resume) {
      if (!opts.force) {
        throw new Error(
          `${opts.outDir} already holds a run (${existing.slice(0, 3).join(', ')}); pass --resume to continue it, --force to replace it, or choose another --out`,
        );
      }
      removeRunOutputs(opts.outDir);
      opts.onInfo?.(`--force: removed the previous run in ${opts.outDir}`);
    }
    if (opts.resume) savedTrainConfig(opts.outDir);
    return await trainInFolder(cfg, train, opts);
  } finally {
    lock.release();
  }
}

/** A new run's metadata, or the checkpoint of the run in the folder when resuming (which must match `cfg`). */
function startOrResume(
  cfg: TrainConfig,
  train: ImageDataset,
  ckptPath: string,
  opts: TrainOutputOptions & TrainHooks,
): { state: StateDict; meta: ClassifierMeta } {
  const fresh: ClassifierMeta = {
    kind: 'classifier',
    config: cfg,
    completedEpochs: 0,
    classNames: [...train.classNames],
    model: cfg.model,
    head: cfg.head,
    inputShape: [train.channels, train.height, train.width],
    mean: [...train.mean],
    std: [...train.std],
    dataset: cfg.dataset,
    history: [],
    trainSeconds: 0,
    trainImages: 0,
  };
  if (!opts.resume) return { state: new Map(), meta: fresh };
  if (!existsSync(ckptPath)) {
    opts.onInfo?.(`no checkpoint in ${opts.outDir}; starting a new run`);
    return { state: new Map(), meta: fresh };
  }
  const saved = loadCheckpoint<ClassifierMeta>(ckptPath);
  if (saved.meta.kind !== 'classifier') {
    throw new Error(
      `${ckptPath} was written by a "${String(saved.meta.kind)}" job, not by \`train\`; continue a class-incremental run with \`onnx-cil run --resume\`, or choose another --out`,
    );
  }
  const was = saved.meta.config;
  for (const key of ['dataset', 'model', 'head', 'batchSize', 'seed', 'epochs'] as const) {
    if (was[key] !== cfg[key]) {
      throw new Error(`cannot resume: the checkpoint was trained with ${key}=${String(was[key])}, this run asks for ${String(cfg[key])}`);
    }
  }
  const meta = { ...saved.meta, config: cfg };
  opts.onInfo?.(`resuming from ${ckptPath} after epoch ${meta.completedEpochs}`);
  return { state: saved.state, meta };
}

/** The training and evaluation sessions of a run, and what its checkpoints need. */
interface Sessions {
  trainer: TrainingSession;
  evaluator: EvalSession;
  forward: ReturnType<typeof classifierForward>;
  /** Shapes of every checkpoint entry (parameters, buffers and their velocities). */
  shapes: Map<string, number[]>;
}

/** Builds the training-step and evaluation graphs of backbone + head and starts their sessions on `state`. */
async function openSessions(cfg: TrainConfig, classes: number, inputShape: readonly [number, number, number], state: StateDict): Promise<Sessions> {
  const forward = classifierForward(cfg, classes);
  const backend = { device: cfg.device, deviceId: cfg.deviceId, threads: cfg.threads } as { device: Device; deviceId: number; threads?: number };
  const graph = buildTrainingGraph({
    name: `${cfg.model}-${cfg.head}-train`,
    batchSize: cfg.batchSize,
    inputShape,
    bnMode: 'train',
    device: cfg.device,
    optimizer: { momentum: cfg.momentum, weightDecay: cfg.weightDecay, nesterov: cfg.nesterov },
    forward: ({ params, x, y }) => {
      const { logits } = forward(params, x);
      return { loss: crossEntropy(logits, y), logits };
    },
  });
  const evalGraph = buildEvalGraph({
    name: `${cfg.model}-${cfg.head}-eval`,
    batchSize: cfg.evalBatchSize,
    inputShape,
    forward: ({ params, x }) => ({ logits: forward(params, x).logits }),
  });
  const trainer = await TrainingSession.create(graph, state, { ...backend, seed: cfg.seed });
  const evaluator = await EvalSession.create(evalGraph, cfg.evalBatchSize, inputShape, backend);
  const shapes = new Map<string, number[]>();
  for (const p of graph.params) {
    shapes.set(p.name, [...p.shape]);
    shapes.set(velocityName(p.name), [...p.shape]);
  }
  return { trainer, evaluator, forward, shapes };
}

/**
 * Trains the remaining epochs, writing the checkpoint after each and evaluating on the test split after the last;
 * updates `meta` as it goes. Returns the test accuracy and the last epoch's training accuracy.
 */
async function runEpochs(
  cfg: TrainConfig,
  data: { train: ImageDataset; test: ImageDataset },
  meta: ClassifierMeta,
  sessions: Sessions,
  ckptPath: string,
  opts: TrainHooks,
): Promise<{ testAccuracy: number; trainAccuracy: number }> {
  const { trainer, evaluator } = sessions;
  const classes = data.train.classNames.length;
  const labelMap = buildLabelMap([...Array(classes).keys()], classes);
  const perEpoch = batchesPerEpoch(data.train.count, cfg.batchSize);
  const schedule = scheduleOf(cfg, perEpoch);
  const total = perEpoch * cfg.epochs;
  const dsSpec = getDatasetSpec(cfg.dataset);
  const augment = {
    ...dsSpec.augment,
    ...(cfg.cropPadding !== undefined ? { padding: cfg.cropPadding } : {}),
    ...(cfg.flip !== undefined ? { flip: cfg.flip } : {}),
  };
  const evaluate = async () => {
    const p = await predict(evaluator, data.test, trainer.tensors(), { labelMap });
    return accuracy(p.outputs['logits']!, p.targets, classes);
  };
  let trainAccuracy = meta.history.at(-1)?.trainAccuracy ?? 0;
  let testAccuracy = Number.NaN;
  await trainEpochs({
    trainer,
    dataset: data.train,
    batch: { augment, labelMap },
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    epochs: cfg.epochs,
    startEpoch: meta.completedEpochs,
    workers: cfg.workers,
    lrAt: (it) => {
      const lr = cfg.lr * scheduleFactor(schedule, it, total);
      return { backbone: lr, classifier: lr };
    },
    onStep: opts.onStep,
    onEpochEnd: async (e) => {
      trainAccuracy = e.trainAccuracy;
      meta.completedEpochs = e.epoch + 1;
      meta.trainSeconds += e.seconds;
      meta.trainImages += e.images;
      meta.history.push({ epoch: e.epoch + 1, loss: e.meanLoss, trainAccuracy: e.trainAccuracy, seconds: e.seconds });
      const last = e.epoch + 1 === cfg.epochs;
      testAccuracy = last ? await evaluate() : Number.NaN;
      saveCheckpoint(ckptPath, {
        meta,
        state: await trainer.stateDict(),
        shapes: sessions.shapes,
        inputShape: meta.inputShape,
        inference: ({ params, x }) => sessions.forward(params, x),
      });
      opts.onEpoch?.({ ...e, testAccuracy: last ? testAccuracy : undefined });
    },
  });
  // A run resumed after its last epoch trains nothing, but still reports its test accuracy.
  if (Number.isNaN(testAccuracy)) testAccuracy = await evaluate();
  return { testAccuracy, trainAccuracy };
}

/** Trains in a locked, checked folder: start or resume, open the sessions, run the epochs, write metrics.json. */
async function trainInFolder(cfg: TrainConfig, train: ImageDataset, opts: TrainOutputOptions & TrainHooks): Promise<TrainResult> {
  const test = loadDataset(cfg.dataset, 'test', { dataPath: cfg.dataPath });
  const ckptPath = join(opts.outDir, 'checkpoint.onnx');
  const { state, meta } = startOrResume(cfg, train, ckptPath, opts);
  writeFileAtomic(join(opts.outDir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const sessions = await openSessions(cfg, train.classNames.length, [train.channels, train.height, train.width], state);
  const started = performance.now();
  let accuracies: { testAccuracy: number; trainAccuracy: number };
  try {
    accuracies = await runEpochs(cfg, { train, test }, meta, sessions, ckptPath, opts);
  } finally {
    await sessions.trainer.release();
    await sessions.evaluator.release();
  }
  const result: TrainResult = {
    ...accuracies,
    epochs: cfg.epochs,
    imagesPerSecond: meta.trainSeconds > 0 ? meta.trainImages / meta.trainSeconds : 0,
    wallSeconds: (performance.now() - started) / 1000,
    checkpoint: ckptPath,
    device: sessions.trainer.device,
    history: meta.history,
  };
  writeFileAtomic(join(opts.outDir, 'metrics.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/**
 * Reads a `train` run's saved config (for `--resume` without repeating flags); null when there is none.
 * @example const saved = readRunConfig('runs/train');
 */
export function readRunConfig(outDir: string): TrainConfig | null {
  const raw = savedTrainConfig(outDir);
  if (raw === null) return null;
  const parsed = TrainConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${join(outDir, 'config.json')} does not hold a valid train config (${describeConfigIssues(parsed.error)}); start again with --force`);
  }
  return parsed.data;
}

/** camelCase config keys as the command-line flags that set them. */
function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * A config validation error as one line naming the flags, e.g. "--momentum: Too big: expected number to be <=1".
 * @example describeConfigIssues(TrainConfigSchema.safeParse({ momentum: 2 }).error!);
 */
export function describeConfigIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? flagName(i.path.map(String).join('.')) : 'config'}: ${i.message}`).join('; ');
}

/**
 * Validates a train config, with errors as one line naming the flags.
 * @example const cfg = parseTrainConfig({ epochs: 1, batchSize: 32 });
 */
export function parseTrainConfig(input: unknown): TrainConfig {
  const parsed = TrainConfigSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid option: ${describeConfigIssues(parsed.error)}`);
  return parsed.data;
}
