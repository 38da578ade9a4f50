/**
 * Runs a whole class-incremental protocol with one method: phase after phase through the learner lifecycle,
 * evaluating after each, checkpointing after every epoch (atomic) so an interrupted run resumes where it stopped
 * and ends with the same metrics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLabelMap } from '../data/batches.js';
import { indicesOfClasses, type ImageDataset } from '../data/dataset.js';
import { getModelSpec } from '../nn/models.js';
import type { Device } from '../runtime/backend.js';
import { removeStaleTemporaryFiles, writeFileAtomic } from '../util/atomic-file.js';
import { lockFolder } from '../util/lock.js';
import { prepareOutputFolder, removeRunOutputs, runOutputsIn } from '../util/output-folder.js';
import type { EpochEvent, StepEvent } from '../train/loop.js';
import { loadCilCheckpoint, RUN_FILES, saveCilCheckpoint, type CilCheckpointMeta, type RunProgress } from './checkpoint.js';
import { loadRunData } from './data.js';
import {
  emptyLearnerState,
  IncrementalLearner,
  phaseSeed,
  type EvaluationData,
  type LearnerState,
  type ModelSetup,
  type PhaseData,
  type PhasePolicy,
  type TrainStats,
} from './learner.js';
import { summarize, type PhaseEvaluation, type RunSummary } from './metrics.js';
import { resolveMethod } from './methods/index.js';
import { SpbConfigSchema } from './methods/spb.js';
import { phaseGroups, resolveClassOrder, type Protocol } from './protocol.js';
import { metricsCsv, renderReport } from './report.js';

export interface RunOptions {
  protocol: Protocol;
  /** Preset name (or protocol file) the protocol came from, for reports. */
  preset: string;
  method: string;
  methodConfig?: Record<string, unknown>;
  epochsScale?: number;
  dataPath?: string;
  outDir: string;
  resume?: boolean;
  /** Replace the run already in `outDir` (its checkpoints, metrics and report are removed first). */
  force?: boolean;
  /**
   * Run folder whose phase 0 this run reuses instead of training it again. Phase 0 is plain cross-entropy for SPB,
   * FT, proto and joint, so runs that differ only in those methods or later-phase settings can share it (SPB-M and
   * SPB-I train phase 0 their own way and share it only with runs of the same method and phase-0 settings);
   * protocol data, model, class order, base schedule, seed and epochs scale must match.
   */
  baseFrom?: string;
  device?: Device;
  deviceId?: number;
  threads?: number;
  workers?: number;
}

export interface RunHooks {
  onInfo?(message: string): void;
  onPhaseStart?(e: { phase: number; phases: number; newClasses: string[]; trains: boolean; startEpoch: number }): void;
  onStep?(e: StepEvent & { phase: number; phases: number; iterations: number }): void;
  onEpoch?(e: EpochEvent & { phase: number }): void;
  onPhaseEnd?(e: PhaseEvaluation): void;
}

/** The run's final result (also written as metrics.json); accuracies are fractions in [0, 1]. */
export interface RunResult extends RunSummary {
  method: string;
  preset: string;
  seed: number;
  model: string;
  dataset: string;
  bn: 'train' | 'frozen';
  epochsScale: number;
  methodConfig: Record<string, unknown>;
  classNames: string[];
  phases: PhaseEvaluation[];
  /** Training time over all phases and the training throughput. */
  trainSeconds: number;
  imagesPerSecond: number;
  /** Wall time of the whole run (summed over resumed segments and a reused phase 0). */
  wallSeconds: number;
  device: string;
  outDir: string;
}

/** The resolved configuration of a run, stored as config.json; a resumed run must match it. */
export interface RunConfig {
  preset: string;
  method: string;
  methodConfig: Record<string, unknown>;
  epochsScale: number;
  protocol: Protocol;
}

function datasetLabel(protocol: Protocol): string {
  return protocol.data.kind === 'registered' ? protocol.data.name : `image-folder`;
}

function checkImages(protocol: Protocol, ds: ImageDataset): void {
  if (protocol.data.kind === 'image-folder' && ds.channels !== protocol.data.channels) {
    throw new Error(`the protocol expects ${protocol.data.channels}-channel images; ${ds.name} has ${ds.channels}`);
  }
}

/**
 * What makes a method's phase 0 what it is: plain cross-entropy on one head for every method on the default model
 * (SPB, FT, proto, joint share it), otherwise the method and its settings that act in phase 0 (SPB-M's heads and
 * readout, SPB-I's self-supervised task): SPB's later-phase switches do not count. A method whose phase 0 is
 * another method's (`phaseZeroOf`, e.g. gauss over SPB-M's rotation heads) has that method's identity.
 * @example phaseZeroIdentity('gauss', { rotations: 4 }) === phaseZeroIdentity('spb-m', {}); // true
 */
export function phaseZeroIdentity(methodName: string, methodConfig: Record<string, unknown>): string {
  const { policy, config } = resolveMethod(methodName, methodConfig);
  if (policy.phaseZeroOf) return phaseZeroIdentity(policy.phaseZeroOf.method, { ...policy.phaseZeroOf.config });
  if (!policy.model && !policy.basePhaseLoss) return 'single-head cross-entropy';
  const laterOnly = new Set(Object.keys(SpbConfigSchema.shape));
  return `${methodName} ${JSON.stringify(
    Object.entries(config)
      .filter(([k]) => !laterOnly.has(k))
      .sort(([a], [b]) => a.localeCompare(b)),
  )}`;
}

/**
 * The run's method with its settings: the protocol's settings for that method (`methodConfig` in a preset), then
 * the run's own `methodConfig` key by key over them.
 * @example resolveRunMethod({ protocol: loadProtocol('cifar100-b50-p5'), method: 'gauss', methodConfig: { shrinkage: 0 } }).config;
 */
export function resolveRunMethod(opts: Pick<RunOptions, 'protocol' | 'method' | 'methodConfig'>): ReturnType<typeof resolveMethod> {
  return resolveMethod(opts.method, { ...opts.protocol.methodConfig?.[opts.method], ...opts.methodConfig });
}

/** Phase 0 of another run, after checking that it was trained exactly as this run's phase 0 would be. */
function loadSharedBase(
  runDir: string,
  protocol: Protocol,
  epochsScale: number,
  method: { name: string; config: Record<string, unknown> },
): { state: ReturnType<typeof loadCilCheckpoint>['state']; evaluation: PhaseEvaluation; wallSeconds: number } {
  const { meta, state } = loadCilCheckpoint(join(runDir, RUN_FILES.phase(0)));
  const theirs = phaseZeroIdentity(meta.method, meta.methodConfig);
  const ours = phaseZeroIdentity(method.name, method.config);
  if (theirs !== ours) {
    throw new Error(`--base-from ${runDir}: its phase 0 was trained by ${meta.method} (${theirs}); ${method.name} trains phase 0 differently (${ours})`);
  }
  const phase0 = (p: Protocol, scale: number) =>
    JSON.stringify({
      data: p.data,
      model: p.model,
      order: p.classOrder,
      base: p.baseClasses,
      schedule: p.schedules.base,
      aug: p.augmentation,
      seed: p.seed,
      evalBatchSize: p.evalBatchSize,
      validation: p.validationFraction ?? 0,
      scale,
    });
  if (phase0(meta.protocol, meta.epochsScale) !== phase0(protocol, epochsScale)) {
    throw new Error(
      `--base-from ${runDir}: its phase 0 was trained with other data, model, class order, base schedule, seed, validation split or epochs scale`,
    );
  }
  const evaluation = meta.evaluations?.[0];
  if (!evaluation) throw new Error(`--base-from ${runDir}: ${RUN_FILES.phase(0)} records no phase-0 evaluation (the file was edited or damaged)`);
  return { state: { ...state, teacher: null }, evaluation, wallSeconds: (meta as { wallSeconds?: number }).wallSeconds ?? 0 };
}

/**
 * The phase checkpoints a resumed run builds on must all load: a damaged one would otherwise surface only when
 * someone exports or increments from it, long after the run reported success.
 */
function checkPhaseFiles(outDir: string, completedPhases: number): void {
  for (let phase = 0; phase < completedPhases; phase++) {
    const path = join(outDir, RUN_FILES.phase(phase));
    if (!existsSync(path)) {
      throw new Error(`cannot resume: ${path} is missing (phase ${phase} finished earlier); restore it, or start the run again with --force`);
    }
    let saved: CilCheckpointMeta;
    try {
      saved = loadCilCheckpoint(path).meta;
    } catch (err) {
      throw new Error(
        `cannot resume: ${path} is damaged (${(err as Error).message.replace(/; restore it.*$/, '')}); restore it, or start the run again with --force`,
      );
    }
    if (saved.phase !== phase) {
      throw new Error(`cannot resume: ${path} holds phase ${saved.phase}, not phase ${phase}; restore it, or start the run again with --force`);
    }
  }
}

/**
 * Runs (or resumes) a protocol and writes the run folder: config.json, checkpoint.onnx (latest, for resume),
 * phase-N.onnx, metrics.json, metrics.csv and report.html. The folder is checked for writability and locked
 * before anything is loaded; a folder holding a run is refused unless `resume` or `force` is given.
 * @example const result = await runProtocol({ protocol: loadProtocol('fmnist-mini-b5-p5'), preset: 'fmnist-mini-b5-p5', method: 'spb', outDir: 'runs/demo' });
 */
export async function runProtocol(opts: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
  if (!Number.isSafeInteger(opts.protocol.seed)) throw new Error(`the seed must be an integer, got ${opts.protocol.seed}`);
  if (opts.epochsScale !== undefined && !(Number.isFinite(opts.epochsScale) && opts.epochsScale > 0)) {
    throw new Error(`the epochs scale must be a number > 0, got ${opts.epochsScale}`);
  }
  if (opts.resume && opts.force) throw new Error('resume continues the run in the folder and force replaces it: give one of them');
  for (const [name, settings] of Object.entries(opts.protocol.methodConfig ?? {})) {
    try {
      resolveMethod(name, settings);
    } catch (err) {
      throw new Error(`protocol ${opts.protocol.name}, methodConfig: ${(err as Error).message}`);
    }
  }
  resolveRunMethod(opts);
  prepareOutputFolder(opts.outDir);
  const lock = lockFolder(opts.outDir, `run ${opts.method}`, hooks.onInfo);
  try {
    const stale = removeStaleTemporaryFiles(opts.outDir);
    if (stale.length) hooks.onInfo?.(`removed ${stale.length} temporary file${stale.length > 1 ? 's' : ''} of killed processes from ${opts.outDir}`);
    return await runInFolder(opts, hooks);
  } finally {
    lock.release();
  }
}

/**
 * Checks the folder for what this run does with it: a resumed run must be the run recorded there; a new run needs an
 * empty folder, or `force` (the previous run's outputs are removed). Returns whether the run resumes.
 */
function prepareRunFolder(opts: RunOptions, config: RunConfig, hooks: RunHooks): boolean {
  const configPath = join(opts.outDir, RUN_FILES.config);
  const resuming = !!opts.resume && existsSync(join(opts.outDir, RUN_FILES.latest));
  if (resuming) {
    const before = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as RunConfig) : null;
    if (before && JSON.stringify(before) !== JSON.stringify(config)) {
      throw new Error(`cannot resume: ${configPath} records a different run (method, preset, seed, scale or schedule); use another --out or drop --resume`);
    }
    return true;
  }
  const existing = runOutputsIn(opts.outDir);
  if (existing.length && !opts.force) {
    throw new Error(
      `${opts.outDir} already holds a run (${existing.slice(0, 3).join(', ')}); pass --resume to continue it, --force to replace it, or choose another --out`,
    );
  }
  if (existing.length) {
    removeRunOutputs(opts.outDir);
    hooks.onInfo?.(`--force: removed the previous run in ${opts.outDir}`);
  }
  return false;
}

/** The data of a run, its classes in protocol order split into phases, and the learner's model setup. */
interface RunData {
  train: ImageDataset;
  test: ImageDataset;
  /** Dataset labels in the order the protocol learns them. */
  order: number[];
  /** Dataset labels of each phase's new classes. */
  groups: number[][];
  setup: ModelSetup;
}

async function loadRun(opts: RunOptions): Promise<RunData> {
  const { protocol } = opts;
  const { train, test } = await loadRunData(protocol, opts.dataPath);
  checkImages(protocol, train);
  const order = resolveClassOrder(protocol.classOrder, train.classNames.length);
  return {
    train,
    test,
    order,
    groups: phaseGroups(protocol, order),
    setup: {
      model: protocol.model,
      spec: getModelSpec(protocol.model),
      inputShape: [train.channels, train.height, train.width],
      backend: { device: opts.device ?? 'cpu', deviceId: opts.deviceId ?? 0, threads: opts.threads },
      evalBatchSize: protocol.evalBatchSize,
      workers: opts.workers ?? 1,
      seed: protocol.seed,
    },
  };
}

/** Where a run starts: its learner state, the evaluations and progress so far, and the wall time already spent. */
interface StartingPoint {
  state: LearnerState;
  evaluations: PhaseEvaluation[];
  progress: RunProgress;
  wallBefore: number;
}

/**
 * A fresh start (config.json written), the state of the interrupted run in the folder (every finished phase's file
 * checked), or phase 0 of the run `baseFrom` names.
 */
function startingPoint(opts: RunOptions, config: RunConfig, resuming: boolean, hooks: RunHooks): StartingPoint {
  if (resuming) {
    const saved = loadCilCheckpoint(join(opts.outDir, RUN_FILES.latest));
    checkPhaseFiles(opts.outDir, saved.meta.progress.completedPhases);
    const progress = saved.meta.progress;
    hooks.onInfo?.(
      progress.current
        ? `resuming phase ${progress.current.phase} after epoch ${progress.current.completedEpochs}`
        : `resuming at phase ${progress.completedPhases}`,
    );
    return {
      state: saved.state,
      evaluations: saved.meta.evaluations,
      progress,
      wallBefore: (saved.meta as CilCheckpointMeta & { wallSeconds?: number }).wallSeconds ?? 0,
    };
  }
  writeFileAtomic(join(opts.outDir, RUN_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
  if (!opts.baseFrom) return { state: emptyLearnerState(), evaluations: [], progress: { completedPhases: 0, current: null }, wallBefore: 0 };
  const base = loadSharedBase(opts.baseFrom, config.protocol, config.epochsScale, { name: config.method, config: config.methodConfig });
  hooks.onInfo?.(`reusing phase 0 of ${opts.baseFrom}`);
  return { state: base.state, evaluations: [base.evaluation], progress: { completedPhases: 1, current: null }, wallBefore: base.wallSeconds };
}

/** A run in progress: what it learns from, its learner, and the evaluations and progress its checkpoints record. */
interface ProtocolRun extends RunData {
  opts: RunOptions;
  config: RunConfig;
  policy: PhasePolicy;
  learner: IncrementalLearner;
  evaluations: PhaseEvaluation[];
  progress: RunProgress;
  /** Wall seconds of earlier segments (resumed run, reused phase 0) and when this one started. */
  wallBefore: number;
  wallStart: number;
}

/** Names of the first `classes` outputs. */
function outputNames(run: ProtocolRun, classes: number): string[] {
  return run.order.slice(0, classes).map((c) => run.train.classNames[c]!);
}

function wallSeconds(run: ProtocolRun): number {
  return run.wallBefore + (performance.now() - run.wallStart) / 1000;
}

/** The metadata of the run's checkpoints during or after `phase`. */
function metaFor(run: ProtocolRun, phase: number): CilCheckpointMeta & { wallSeconds: number } {
  const { protocol } = run.config;
  const classes = run.learner.state.classes;
  return {
    kind: 'cil',
    model: protocol.model,
    head: 'cosine',
    classNames: outputNames(run, classes),
    inputShape: run.setup.inputShape,
    mean: [...run.train.mean],
    std: [...run.train.std],
    dataset: datasetLabel(protocol),
    method: run.config.method,
    methodConfig: run.config.methodConfig,
    protocol,
    epochsScale: run.config.epochsScale,
    phase,
    classesSeen: classes,
    classOrder: run.order.slice(0, classes),
    evaluations: run.evaluations,
    progress: run.progress,
    wallSeconds: wallSeconds(run),
  };
}

/** Writes phase-N.onnx and the latest checkpoint after a finished phase. */
function saveFinishedPhase(run: ProtocolRun, phase: number): void {
  const meta = metaFor(run, phase);
  saveCilCheckpoint(join(run.opts.outDir, RUN_FILES.phase(phase)), run.learner, meta);
  saveCilCheckpoint(join(run.opts.outDir, RUN_FILES.latest), run.learner, meta);
}

function phaseData(run: ProtocolRun, phase: number): PhaseData {
  const { protocol, epochsScale } = run.config;
  const { train, groups } = run;
  const seen = groups.slice(0, phase + 1).flat();
  return {
    phase,
    train,
    labelMap: buildLabelMap(seen, train.classNames.length),
    newIndices: indicesOfClasses(train, groups[phase]!),
    seenIndices: run.policy.laterPhaseData === 'seen' ? indicesOfClasses(train, seen) : undefined,
    oldClasses: phase === 0 ? 0 : groups.slice(0, phase).flat().length,
    newClasses: groups[phase]!.length,
    schedule: phase === 0 ? protocol.schedules.base : protocol.schedules.incremental,
    epochsScale,
    augment: protocol.augmentation,
    bnMode: phase === 0 ? 'train' : protocol.laterPhaseBn,
    seed: phaseSeed(protocol.seed, phase),
  };
}

function evaluationData(run: ProtocolRun, phase: number, labelMap: Int32Array): EvaluationData {
  const seenGroups = run.groups.slice(0, phase + 1);
  return {
    test: run.test,
    labelMap,
    indices: indicesOfClasses(run.test, seenGroups.flat()),
    groupOfOutput: Int32Array.from(seenGroups.flatMap((g, k) => g.map(() => k))),
    phase,
  };
}

/**
 * A phase 0 reused from another run becomes this run's phase 0. A method that reads out with class statistics adds
 * them when the shared phase lacks them, and evaluates the phase with its own readout: the shared run's accuracy
 * came from another readout, or from statistics regularised with other options (the training time stays the
 * shared run's).
 */
async function adoptSharedBase(run: ProtocolRun): Promise<void> {
  const base = phaseData(run, 0);
  if (run.policy.classStatistics) {
    await run.learner.completeStatistics(base);
    const shared = run.evaluations[0]!;
    run.evaluations = [await run.learner.evaluate(evaluationData(run, 0, base.labelMap), { seconds: shared.trainSeconds, images: shared.trainImages })];
  }
  saveFinishedPhase(run, 0);
}

/**
 * One phase through the learner lifecycle (or the rest of it, when resumed mid-phase): expand, train with a
 * checkpoint after every epoch, store class means, evaluate, write the phase's checkpoints.
 */
async function runPhase(run: ProtocolRun, phase: number, hooks: RunHooks): Promise<void> {
  const { learner, train, groups } = run;
  const phases = groups.length;
  const data = phaseData(run, phase);
  for (const cls of groups[phase]!) {
    if (!data.newIndices.some((i) => train.labels[i] === cls)) throw new Error(`class "${train.classNames[cls]}" has no training images`);
  }
  const resumedHere = run.progress.current?.phase === phase ? run.progress.current : null;
  if (!resumedHere) await learner.beforePhase(data);
  const stats: TrainStats = { seconds: resumedHere?.trainSeconds ?? 0, images: resumedHere?.trainImages ?? 0, iterations: 0, lastEpoch: {} };
  hooks.onPhaseStart?.({
    phase,
    phases,
    newClasses: groups[phase]!.map((c) => train.classNames[c]!),
    trains: learner.trains(phase),
    startEpoch: resumedHere?.completedEpochs ?? 0,
  });
  const trained = await learner.train(data, {
    startEpoch: resumedHere?.completedEpochs ?? 0,
    onStep: (e) => hooks.onStep?.({ ...e, phase, phases }),
    onEpochEnd: async (e) => {
      stats.seconds += e.seconds;
      stats.images += e.images;
      run.progress = { completedPhases: phase, current: { phase, completedEpochs: e.epoch + 1, trainSeconds: stats.seconds, trainImages: stats.images } };
      saveCilCheckpoint(join(run.opts.outDir, RUN_FILES.latest), learner, metaFor(run, phase));
      hooks.onEpoch?.({ ...e, phase });
    },
  });
  stats.lastEpoch = trained.lastEpoch;
  await learner.afterPhase(data);
  const evaluation = await learner.evaluate(evaluationData(run, phase, data.labelMap), stats);
  run.evaluations = [...run.evaluations, evaluation];
  run.progress = { completedPhases: phase + 1, current: null };
  saveFinishedPhase(run, phase);
  hooks.onPhaseEnd?.(evaluation);
}

/** The run's result, written as metrics.json, metrics.csv and report.html. */
async function finishRun(run: ProtocolRun): Promise<RunResult> {
  const { opts, config, evaluations, train } = run;
  const { protocol } = config;
  const trainSeconds = evaluations.reduce((a, e) => a + e.trainSeconds, 0);
  const trainImages = evaluations.reduce((a, e) => a + e.trainImages, 0);
  const result: RunResult = {
    method: config.method,
    preset: opts.preset,
    seed: protocol.seed,
    model: protocol.model,
    dataset: datasetLabel(protocol),
    bn: protocol.laterPhaseBn,
    epochsScale: config.epochsScale,
    methodConfig: config.methodConfig,
    classNames: outputNames(run, run.learner.state.classes),
    ...summarize(evaluations),
    phases: evaluations,
    trainSeconds,
    imagesPerSecond: trainSeconds > 0 ? trainImages / trainSeconds : 0,
    wallSeconds: wallSeconds(run),
    device: opts.device ?? 'cpu',
    outDir: opts.outDir,
  };
  writeFileAtomic(join(opts.outDir, RUN_FILES.metricsJson), `${JSON.stringify(result, null, 2)}\n`);
  writeFileAtomic(join(opts.outDir, RUN_FILES.metricsCsv), metricsCsv(result));
  writeFileAtomic(
    join(opts.outDir, RUN_FILES.report),
    await renderReport(
      result,
      run.groups.map((g) => g.map((c) => train.classNames[c]!)),
    ),
  );
  return result;
}

/** The run in a locked, checked folder: prepare it, load the data, start (or resume), run the phases, finish. */
async function runInFolder(opts: RunOptions, hooks: RunHooks): Promise<RunResult> {
  const wallStart = performance.now();
  const { method, config: methodConfig, policy } = resolveRunMethod(opts);
  // The protocol's settings for every method are resolved into methodConfig, which is what the run records.
  const { methodConfig: _settingsByMethod, ...protocol } = opts.protocol;
  const config: RunConfig = { preset: opts.preset, method: method.name, methodConfig, epochsScale: opts.epochsScale ?? 1, protocol };
  const resuming = prepareRunFolder(opts, config, hooks);
  const data = await loadRun(opts);
  const start = startingPoint(opts, config, resuming, hooks);
  const run: ProtocolRun = {
    ...data,
    opts,
    config,
    policy,
    learner: new IncrementalLearner(policy, data.setup, start.state),
    evaluations: start.evaluations,
    progress: start.progress,
    wallBefore: start.wallBefore,
    wallStart,
  };
  if (opts.baseFrom && !resuming) await adoptSharedBase(run);
  for (let phase = run.progress.completedPhases; phase < run.groups.length; phase++) await runPhase(run, phase, hooks);
  return finishRun(run);
}
