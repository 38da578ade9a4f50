/**
 * Class-incremental checkpoints: the usual onnx-cil checkpoint (inference graph with logits and features, weights
 * as named initializers, atomic write) plus the NCM class means and class statistics, the run's progress, and (in
 * companion files, as resume-only state) the optimiser velocities and the frozen teacher.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildEvalGraph, velocityName } from '../train/training-graph.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import type { ModelMeta } from '../train/classifier.js';
import type { StateDict } from '../nn/params.js';
import { CLASS_MEANS_KEY, STATISTICS_KEYS, TEACHER_PREFIX, type ClassStatistics, type IncrementalLearner, type LearnerState } from './learner.js';
import type { PhaseEvaluation } from './metrics.js';
import type { Protocol } from './protocol.js';

/** Where an interrupted run stands. */
export interface RunProgress {
  /** Phases whose training, class means and evaluation are done. */
  completedPhases: number;
  /** The phase being trained (classifier already expanded) and its finished epochs; null between phases. */
  current: { phase: number; completedEpochs: number; trainSeconds: number; trainImages: number } | null;
}

/** Metadata of every class-incremental checkpoint: ModelMeta plus method, phase, classes seen and accuracy so far. */
export interface CilCheckpointMeta extends ModelMeta {
  kind: 'cil';
  method: string;
  methodConfig: Record<string, unknown>;
  /** The protocol as run (seed, BatchNorm mode and schedules); `increment` reuses its later-phase schedule. */
  protocol: Protocol;
  epochsScale: number;
  /** Last phase whose classes the model holds. */
  phase: number;
  classesSeen: number;
  /** Dataset label of each output (protocol runs); classNames hold the names. */
  classOrder: number[];
  evaluations: PhaseEvaluation[];
  progress: RunProgress;
}

/** Shapes of every state entry of a learner with `classes` outputs. */
function stateShapes(learner: IncrementalLearner): Map<string, number[]> {
  const { setup } = learner;
  const classes = learner.state.classes;
  const graph = buildEvalGraph({
    name: 'shapes',
    batchSize: 1,
    inputShape: setup.inputShape,
    forward: ({ params, x }) => learner.model.stateForward(setup.spec, params, x, classes),
  });
  const shapes = new Map<string, number[]>();
  for (const p of graph.params) {
    shapes.set(p.name, [...p.shape]);
    shapes.set(velocityName(p.name), [...p.shape]);
    shapes.set(`${TEACHER_PREFIX}${p.name}`, [...p.shape]);
  }
  shapes.set(CLASS_MEANS_KEY, [learner.state.classMeans.length / learner.featureDim, learner.featureDim]);
  const d = learner.featureDim;
  const known = learner.state.statistics?.counts.length ?? 0;
  shapes.set(STATISTICS_KEYS.counts, [known]);
  shapes.set(STATISTICS_KEYS.means, [known, d]);
  shapes.set(STATISTICS_KEYS.covariances, [known, d, d]);
  shapes.set(STATISTICS_KEYS.pooled, [d, d]);
  return shapes;
}

/**
 * Writes the learner's state and `meta` atomically.
 * @example saveCilCheckpoint('runs/a/phase-1.onnx', learner, meta);
 */
export function saveCilCheckpoint(path: string, learner: IncrementalLearner, meta: CilCheckpointMeta): void {
  const state: StateDict = new Map(learner.state.weights);
  for (const [k, v] of learner.state.teacher ?? []) state.set(`${TEACHER_PREFIX}${k}`, v);
  if (learner.state.classMeans.length) state.set(CLASS_MEANS_KEY, learner.state.classMeans);
  const stats = learner.state.statistics;
  if (stats) for (const [field, key] of Object.entries(STATISTICS_KEYS)) state.set(key, stats[field as keyof ClassStatistics]);
  const classes = learner.state.classes;
  saveCheckpoint(path, {
    meta,
    state,
    shapes: stateShapes(learner),
    inputShape: learner.setup.inputShape,
    companionPrefixes: [velocityName(''), TEACHER_PREFIX],
    inference: ({ params, x }) => learner.model.evalForward(learner.setup.spec, params, x, classes),
  });
}

/**
 * Reads a class-incremental checkpoint back into learner state; other checkpoints give a clear error.
 * @example const { meta, state } = loadCilCheckpoint('runs/a/checkpoint.onnx');
 */
export function loadCilCheckpoint(path: string): { meta: CilCheckpointMeta; state: LearnerState } {
  const saved = loadCheckpoint<CilCheckpointMeta>(path);
  if (saved.meta.kind !== 'cil') throw new Error(`${path} is not a class-incremental checkpoint (it was written by a "${String(saved.meta.kind)}" job)`);
  const weights: StateDict = new Map();
  const teacher: StateDict = new Map();
  let classMeans: Float32Array = new Float32Array(0);
  const statKeys = new Map<string, keyof ClassStatistics>(Object.entries(STATISTICS_KEYS).map(([field, key]) => [key, field as keyof ClassStatistics]));
  const stats: Partial<ClassStatistics> = {};
  for (const [name, data] of saved.state) {
    if (name === CLASS_MEANS_KEY) classMeans = data;
    else if (statKeys.has(name)) stats[statKeys.get(name)!] = data;
    else if (name.startsWith(TEACHER_PREFIX)) teacher.set(name.slice(TEACHER_PREFIX.length), data);
    else weights.set(name, data);
  }
  const statistics = stats.counts && stats.means && stats.covariances && stats.pooled ? (stats as ClassStatistics) : null;
  return { meta: saved.meta, state: { weights, teacher: teacher.size ? teacher : null, classMeans, classes: saved.meta.classesSeen, statistics } };
}

/** File names inside a run folder. */
export const RUN_FILES = Object.freeze({
  config: 'config.json',
  latest: 'checkpoint.onnx',
  phase: (phase: number) => `phase-${phase}.onnx`,
  metricsJson: 'metrics.json',
  metricsCsv: 'metrics.csv',
  report: 'report.html',
});

/**
 * The checkpoint a path names: a checkpoint file as given, or the highest-numbered phase checkpoint of a run
 * folder (phases written by `increment` included).
 * @example resolveCheckpointPath('runs/fmnist'); // 'runs/fmnist/phase-5.onnx'
 */
export function resolveCheckpointPath(runOrCheckpoint: string): string {
  if (!existsSync(runOrCheckpoint)) throw new Error(`${runOrCheckpoint} does not exist (give a run folder or a .onnx checkpoint)`);
  if (!statSync(runOrCheckpoint).isDirectory()) return runOrCheckpoint;
  const phases = readdirSync(runOrCheckpoint)
    .map((f) => /^phase-(\d+)\.onnx$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  if (phases.length === 0) throw new Error(`${runOrCheckpoint} holds no phase-N.onnx checkpoint; is it an onnx-cil run folder that finished a phase?`);
  return join(runOrCheckpoint, RUN_FILES.phase(phases[0]!));
}
