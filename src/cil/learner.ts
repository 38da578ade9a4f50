/**
 * The shared class-incremental learner lifecycle: `beforePhase` (freeze the previous extractor, expand the
 * classifier), `train` (one ONNX training graph holding the student, the frozen teacher and SGD), `afterPhase`
 * (class means for the NCM readout, fresh optimiser next time) and `evaluate`. Methods differ only in their
 * PhasePolicy (see methods/), so SPB's phase mechanics are reused by every method built on them.
 */
import type { AugmentOptions } from '../data/augment.js';
import type { ImageDataset } from '../data/dataset.js';
import { deriveSeed } from '../data/rng.js';
import type { Value } from '../graph/builder.js';
import { cosineHead } from '../nn/heads.js';
import { buildBackbone, featureDim, type ModelSpec } from '../nn/models.js';
import { ConstantParams, initialValue, type BatchNormMode, type ParamSource, type StateDict } from '../nn/params.js';
import type { BackendOptions } from '../runtime/backend.js';
import { predict } from '../train/evaluate.js';
import { trainEpochs, batchesPerEpoch, type EpochEvent, type StepEvent } from '../train/loop.js';
import { scheduleFactor } from '../train/schedule.js';
import { EvalSession, TrainingSession } from '../train/session.js';
import { buildEvalGraph, buildTrainingGraph, velocityName } from '../train/training-graph.js';
import { classificationLoss, combineLosses, type LossPiece } from './losses.js';
import { fractionCorrect, type PhaseEvaluation } from './metrics.js';
import { appendRows, classPrototypes, nearestMean } from './prototypes.js';
import { scaleSchedule, type PhaseSchedule } from './protocol.js';

/** Name prefix of the frozen extractor's weights, inside training graphs and checkpoints. */
export const TEACHER_PREFIX = 'teacher.';
/** Checkpoint entry holding the NCM class means [classes, D]. */
export const CLASS_MEANS_KEY = 'ncm.means';
const CLASSIFIER_WEIGHT = 'fc.weight';

/** What distinguishes one method from another; the lifecycle is the same for all. */
export interface PhasePolicy {
  /** How rows of new classes start: SPB's normalised class-mean prototypes, or random (uniform +-1/sqrt(D)). */
  readonly classifierInit: 'prototype' | 'random';
  /** false: later phases only append rows (no training). */
  readonly trainsLaterPhases: boolean;
  /** Training images of a later phase: the new classes only, or every class seen so far (joint upper bound). */
  readonly laterPhaseData: 'new' | 'seen';
  /** Whether later phases need the frozen extractor of the previous phase. */
  readonly distills: boolean;
  /** Loss pieces of a later phase with `oldClasses` known and `newClasses` being added. */
  laterPhaseLoss(oldClasses: number, newClasses: number): LossPiece[];
}

/** The model and runtime a learner trains. */
export interface ModelSetup {
  model: string;
  spec: ModelSpec;
  inputShape: [number, number, number];
  backend: BackendOptions;
  evalBatchSize: number;
  /** Batch-building worker threads. */
  workers: number;
  /** Seed of the initial weights. */
  seed: number;
}

/** Everything a learner carries between phases (and into checkpoints). */
export interface LearnerState {
  /** Parameters and buffers of backbone and classifier, plus optimiser velocities while a phase runs. */
  weights: StateDict;
  /** The frozen extractor of the previous phase (unprefixed names), when the method distils. */
  teacher: StateDict | null;
  /** NCM class means [classes, D], each computed when its class was learned. */
  classMeans: Float32Array;
  /** Output classes of the classifier. */
  classes: number;
}

/** The data and schedule of one phase. */
export interface PhaseData {
  phase: number;
  train: ImageDataset;
  /** Dataset label -> output index for every class the model has after this phase (-1 elsewhere). */
  labelMap: Int32Array;
  /** Training positions of this phase's new classes. */
  newIndices: Int32Array;
  /** Training positions of every class seen so far (only needed by methods that train on them). */
  seenIndices?: Int32Array;
  oldClasses: number;
  newClasses: number;
  schedule: PhaseSchedule;
  epochsScale: number;
  augment: AugmentOptions;
  bnMode: BatchNormMode;
  /** Seed of this phase's batches (shuffles and augmentation). */
  seed: number;
}

export interface TrainHooks {
  /** Epoch to resume from (the state already holds that epoch's weights and velocities). */
  startEpoch?: number;
  onStep?(e: StepEvent & { iterations: number }): void;
  /** Called after every epoch with the learner state updated, e.g. to write a checkpoint. */
  onEpochEnd?(e: EpochEvent): Promise<void> | void;
}

export interface TrainStats {
  seconds: number;
  images: number;
  iterations: number;
  /** Mean of each reported scalar (loss parts) over the last epoch. */
  lastEpoch: Record<string, number>;
}

/** Test data of the classes seen so far and the class group of each output index. */
export interface EvaluationData {
  test: ImageDataset;
  labelMap: Int32Array;
  indices: Int32Array;
  /** Group (phase that introduced it) of each output index. */
  groupOfOutput: Int32Array;
  phase: number;
}

/**
 * Backbone + cosine classifier: the forward of every graph a learner builds.
 * @example const { logits, features } = classifierForward(spec, params, x, 10);
 */
export function classifierForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): { logits: Value; features: Value } {
  params.group = 'backbone';
  const { features } = buildBackbone(spec, params, x);
  params.group = 'classifier';
  const logits = cosineHead(params, 'fc', features, classes);
  params.group = 'backbone';
  return { logits, features };
}

/** Learner state without optimiser velocities. */
function withoutVelocities(weights: StateDict): StateDict {
  return new Map([...weights].filter(([k]) => !k.startsWith(velocityName(''))));
}

/**
 * The extractor part of the weights (backbone parameters and buffers): what the teacher freezes.
 * @example const teacher = extractorWeights(state.weights);
 */
export function extractorWeights(weights: StateDict): StateDict {
  return new Map([...withoutVelocities(weights)].filter(([k]) => !k.startsWith('fc.')).map(([k, v]) => [k, Float32Array.from(v)]));
}

/**
 * A learner following one method's policy through the phase lifecycle.
 * @example
 * const learner = new IncrementalLearner(METHODS.get('spb')!.policy({}), setup, emptyLearnerState());
 * await learner.beforePhase(data); await learner.train(data); await learner.afterPhase(data);
 * const evaluation = await learner.evaluate(evalData, stats);
 */
export class IncrementalLearner {
  readonly featureDim: number;

  constructor(
    readonly policy: PhasePolicy,
    readonly setup: ModelSetup,
    public state: LearnerState,
  ) {
    this.featureDim = featureDim(setup.spec);
  }

  /** Whether phase `phase` runs any training step. */
  trains(phase: number): boolean {
    return phase === 0 || this.policy.trainsLaterPhases;
  }

  /** Training positions of a phase under this policy. */
  trainingIndices(data: PhaseData): Int32Array {
    if (data.phase === 0 || this.policy.laterPhaseData === 'new') return data.newIndices;
    if (!data.seenIndices) throw new Error(`phase ${data.phase}: this method trains on every seen class, but their training data is not available`);
    return data.seenIndices;
  }

  /** Freezes the previous extractor and appends the new classes' classifier rows (old rows unchanged). */
  async beforePhase(data: PhaseData): Promise<void> {
    if (data.phase === 0) {
      if (this.state.classes !== 0) throw new Error('phase 0 needs a fresh learner');
      this.state.classes = data.newClasses;
      return;
    }
    if (data.oldClasses !== this.state.classes) {
      throw new Error(`phase ${data.phase} expects ${data.oldClasses} known classes; the model has ${this.state.classes}`);
    }
    this.state.teacher = this.policy.distills && this.policy.trainsLaterPhases ? extractorWeights(this.state.weights) : null;
    const rows =
      this.policy.classifierInit === 'prototype'
        ? await this.prototypesOf(data.train, data.newIndices, data.labelMap, data.oldClasses, data.newClasses)
        : initialValue(
            { name: `${CLASSIFIER_WEIGHT}.phase${data.phase}`, shape: [data.newClasses, this.featureDim], init: { kind: 'uniform', bound: 1 / Math.sqrt(this.featureDim) } },
            this.setup.seed,
          );
    const old = this.state.weights.get(CLASSIFIER_WEIGHT);
    if (!old) throw new Error(`the model has no ${CLASSIFIER_WEIGHT}`);
    this.state.weights.set(CLASSIFIER_WEIGHT, appendRows(old, rows));
    this.state.classes += data.newClasses;
  }

  /** The loss pieces of a phase: plain cross-entropy in phase 0, the method's pieces afterwards. */
  lossPieces(data: PhaseData): LossPiece[] {
    return data.phase === 0 ? [classificationLoss(1)] : this.policy.laterPhaseLoss(data.oldClasses, data.newClasses);
  }

  /** Trains the phase with a fresh optimiser (or resumes it at `hooks.startEpoch`). */
  async train(data: PhaseData, hooks: TrainHooks = {}): Promise<TrainStats> {
    const stats: TrainStats = { seconds: 0, images: 0, iterations: 0, lastEpoch: {} };
    if (!this.trains(data.phase)) return stats;
    const indices = this.trainingIndices(data);
    const { schedule } = data;
    const perEpoch = batchesPerEpoch(indices.length, schedule.batchSize);
    if (perEpoch === 0) throw new Error(`phase ${data.phase}: ${indices.length} training images are fewer than one batch of ${schedule.batchSize}`);
    const scaled = scaleSchedule(schedule, perEpoch, data.epochsScale);
    const teacher = this.state.teacher;
    const pieces = this.lossPieces(data);
    const { spec } = this.setup;
    const graph = buildTrainingGraph({
      name: `${this.setup.model}-phase${data.phase}-train`,
      batchSize: schedule.batchSize,
      inputShape: this.setup.inputShape,
      bnMode: data.bnMode,
      optimizer: { momentum: schedule.momentum, weightDecay: schedule.weightDecay, nesterov: schedule.nesterov },
      forward: ({ graph: g, params, x, y }) => {
        const { logits, features } = classifierForward(spec, params, x, this.state.classes);
        let teacherFeatures: Value | null = null;
        const { loss, parts } = combineLosses(pieces, {
          graph: g,
          targets: y,
          logits,
          features,
          teacherFeatures: () => {
            if (!teacher) throw new Error(`phase ${data.phase}: the loss needs the frozen extractor, but none was kept`);
            teacherFeatures ??= buildBackbone(spec, new ConstantParams(g, 'eval', teacher, TEACHER_PREFIX), x).features;
            return teacherFeatures;
          },
        });
        return { loss, scalars: parts, logits };
      },
    });
    const trainer = await TrainingSession.create(graph, this.state.weights, { ...this.setup.backend, seed: this.setup.seed });
    const lrAt = (iteration: number) => {
      const factor = scheduleFactor({ kind: 'multistep', milestones: scaled.milestones, gamma: schedule.gamma }, iteration, scaled.iterations);
      return { backbone: schedule.lr.backbone * factor, classifier: schedule.lr.classifier * factor };
    };
    try {
      await trainEpochs({
        trainer,
        dataset: data.train,
        indices,
        batch: { augment: data.augment, labelMap: data.labelMap },
        batchSize: schedule.batchSize,
        seed: data.seed,
        epochs: scaled.epochs,
        maxIterations: scaled.iterations,
        startEpoch: hooks.startEpoch ?? 0,
        workers: this.setup.workers,
        lrAt,
        onStep: (e) => hooks.onStep?.({ ...e, iterations: scaled.iterations }),
        onEpochEnd: async (e) => {
          stats.seconds += e.seconds;
          stats.images += e.images;
          stats.lastEpoch = e.meanScalars;
          this.state.weights = await trainer.stateDict();
          await hooks.onEpochEnd?.(e);
        },
      });
    } finally {
      await trainer.release();
    }
    stats.iterations = scaled.iterations;
    return stats;
  }

  /** Drops the optimiser (each phase starts a fresh one) and stores the new classes' NCM means. */
  async afterPhase(data: PhaseData): Promise<void> {
    this.state.weights = withoutVelocities(this.state.weights);
    const means = await this.prototypesOf(data.train, data.newIndices, data.labelMap, data.oldClasses, data.newClasses);
    if (this.state.classMeans.length !== data.oldClasses * this.featureDim) {
      throw new Error(`the NCM means cover ${this.state.classMeans.length / this.featureDim} classes; ${data.oldClasses} were expected`);
    }
    this.state.classMeans = appendRows(this.state.classMeans, means);
  }

  /** Top-1/top-5, per-group, old/new and NCM accuracy on the test images of every seen class. */
  async evaluate(data: EvaluationData, stats: Pick<TrainStats, 'seconds' | 'images'>): Promise<PhaseEvaluation> {
    const classes = this.state.classes;
    const p = await this.run(data.test, data.indices, data.labelMap);
    const logits = p.outputs['logits']!;
    const predicted = new Int32Array(p.count);
    let top5Hits = 0;
    for (let r = 0; r < p.count; r++) {
      const row = logits.subarray(r * classes, (r + 1) * classes);
      const target = row[p.targets[r]!]!;
      let better = 0;
      let best = 0;
      for (let c = 0; c < classes; c++) {
        if (row[c]! > row[best]!) best = c;
        // Ties count against the target, so a constant output scores 0 rather than 1.
        if (row[c]! > target || (row[c] === target && c < p.targets[r]!)) better++;
      }
      predicted[r] = best;
      if (better < 5) top5Hits++;
    }
    const groupOf = (t: number) => data.groupOfOutput[t]!;
    const groupAccuracy = Array.from({ length: data.phase + 1 }, (_, g) => fractionCorrect(predicted, p.targets, (t) => groupOf(t) === g));
    const ncm = nearestMean(p.outputs['features']!, this.state.classMeans, this.featureDim);
    return {
      phase: data.phase,
      classesSeen: classes,
      accuracy: fractionCorrect(predicted, p.targets),
      top5: p.count ? top5Hits / p.count : 0,
      ncmAccuracy: fractionCorrect(ncm, p.targets),
      groupAccuracy,
      oldAccuracy: data.phase === 0 ? null : fractionCorrect(predicted, p.targets, (t) => groupOf(t) < data.phase),
      newAccuracy: fractionCorrect(predicted, p.targets, (t) => groupOf(t) === data.phase),
      testImages: p.count,
      trainSeconds: stats.seconds,
      trainImages: stats.images,
      imagesPerSecond: stats.seconds > 0 ? stats.images / stats.seconds : 0,
    };
  }

  /** Runs the current model in eval mode (logits over the current classes and raw features). */
  private async run(ds: ImageDataset, indices: Int32Array, labelMap: Int32Array) {
    const classes = this.state.classes;
    const graph = buildEvalGraph({
      name: `${this.setup.model}-eval`,
      batchSize: this.setup.evalBatchSize,
      inputShape: this.setup.inputShape,
      forward: ({ params, x }) => classifierForward(this.setup.spec, params, x, classes),
    });
    const evaluator = await EvalSession.create(graph, this.setup.evalBatchSize, this.setup.inputShape, this.setup.backend);
    try {
      return await predict(evaluator, ds, this.state.weights, { labelMap, indices });
    } finally {
      await evaluator.release();
    }
  }

  /** Normalised class-mean prototypes of output classes first..first+count-1 with the current extractor (eval mode, no augmentation). */
  private async prototypesOf(ds: ImageDataset, indices: Int32Array, labelMap: Int32Array, first: number, count: number): Promise<Float32Array> {
    // The classifier rows are not needed for features; a model with only the known rows runs on any label map.
    const p = await this.run(ds, indices, labelMap);
    return classPrototypes(p.outputs['features']!, p.targets, this.featureDim, Array.from({ length: count }, (_, i) => first + i));
  }
}

/** A learner state before phase 0. */
export function emptyLearnerState(): LearnerState {
  return { weights: new Map(), teacher: null, classMeans: new Float32Array(0), classes: 0 };
}

/** The batch seed of a phase, derived from the run seed. */
export function phaseSeed(seed: number, phase: number): number {
  return deriveSeed(seed, phase);
}
