/**
 * The shared class-incremental learner lifecycle: `beforePhase` (freeze the previous extractor, expand the
 * classifier), `train` (one ONNX training graph holding the student, the frozen teacher and SGD), `afterPhase`
 * (class means for the NCM readout, fresh optimiser next time) and `evaluate`. Methods differ only in their
 * PhasePolicy (see methods/), so SPB's phase mechanics are reused by every method built on them.
 */
import type { AugmentOptions } from '../data/augment.js';
import type { ImageDataset } from '../data/dataset.js';
import { deriveSeed } from '../util/rng.js';
import { GraphBuilder, type Value } from '../graph/builder.js';
import { buildBackbone, featureDim, type ModelSpec } from '../nn/models.js';
import { ConstantParams, initialValue, InputParams, type BatchNormMode, type StateDict } from '../nn/params.js';
import type { BackendOptions } from '../runtime/backend.js';
import { predict } from '../train/evaluate.js';
import { trainEpochs, batchesPerEpoch, type EpochEvent, type StepEvent } from '../train/loop.js';
import { scheduleFactor } from '../train/schedule.js';
import { EvalSession, TrainingSession } from '../train/session.js';
import { buildEvalGraph, buildTrainingGraph, velocityName } from '../train/training-graph.js';
import { classificationLoss, combineLosses, type LossPiece } from './losses.js';
import { fractionCorrect, type PhaseEvaluation } from './metrics.js';
import { classMoments, mahalanobisParameters, mahalanobisScores, pooledCovariance, storedMoments, type ShrinkageOptions } from '../nn/class-statistics.js';
import { appendRows, classPrototypes, nearestMean } from './prototypes.js';
import { scaleSchedule, type PhaseSchedule } from './protocol.js';
import { featuresOutput, singleHeadVariant, type ModelVariant } from './variants.js';

/** Name prefix of the frozen extractor's weights, inside training graphs and checkpoints. */
export const TEACHER_PREFIX = 'teacher.';
/** Checkpoint entry holding the NCM class means [classes, D]. */
export const CLASS_MEANS_KEY = 'ncm.means';
/** Checkpoint entries of the Gaussian class statistics (see ClassStatistics). */
export const STATISTICS_KEYS = Object.freeze({ counts: 'stats.counts', means: 'stats.means', covariances: 'stats.covariances', pooled: 'stats.pooled' });

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
  /** Loss pieces of phase 0 (default: plain cross-entropy). */
  basePhaseLoss?(): LossPiece[];
  /** The model the method trains: classifier heads, copies of the batch, self-supervised head (default: one head). */
  readonly model?: ModelVariant;
  /**
   * Set: the learner keeps Gaussian statistics of every class (mean and covariance of its unit-length features)
   * and predicts with the Mahalanobis readout they give, covariances regularised as these options say.
   */
  readonly classStatistics?: ShrinkageOptions;
  /**
   * Phase 0 trains exactly as this method with this config trains it (same model, same loss), so a run of either
   * can share the other's phase 0 (`--base-from`).
   */
  readonly phaseZeroOf?: { readonly method: string; readonly config: Readonly<Record<string, unknown>> };
}

/**
 * Gaussian statistics of the unit-length features of every class learned so far, each computed when its class was
 * learned, and the pooled within-class covariance of the base classes (the prior of every later class).
 */
export interface ClassStatistics {
  /** Training images per class. */
  counts: Float32Array;
  /** [classes, D] */
  means: Float32Array;
  /** [classes, D, D] unbiased covariances. */
  covariances: Float32Array;
  /** [D, D] */
  pooled: Float32Array;
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
  /** Gaussian class statistics, for methods that read out with them (else null). */
  statistics: ClassStatistics | null;
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

/** Backbone + cosine classifier (the single-head model); lives with the other model variants. */
export { classifierForward } from './variants.js';

/** Learner state without optimiser velocities. */
function withoutVelocities(weights: StateDict): StateDict {
  return new Map([...weights].filter(([k]) => !k.startsWith(velocityName(''))));
}

/**
 * Names of the extractor's parameters and buffers (everything `buildBackbone` declares) for a model spec.
 * @example extractorParamNames(getModelSpec('convnet'), [1, 28, 28]).has('conv1.weight'); // true
 */
export function extractorParamNames(spec: ModelSpec, inputShape: readonly [number, number, number]): Set<string> {
  const g = new GraphBuilder('extractor-names');
  const params = new InputParams(g, 'eval');
  buildBackbone(spec, params, g.input('input', 'float32', [1, ...inputShape]));
  return new Set(params.infos.keys());
}

/**
 * The extractor part of the weights (backbone parameters and buffers): what the teacher freezes. Without
 * `isExtractor`, everything but the `fc.` classifier counts.
 * @example const teacher = extractorWeights(state.weights, (k) => names.has(k));
 */
export function extractorWeights(weights: StateDict, isExtractor: (name: string) => boolean = (k) => !k.startsWith('fc.')): StateDict {
  return new Map([...withoutVelocities(weights)].filter(([k]) => isExtractor(k)).map(([k, v]) => [k, Float32Array.from(v)]));
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
  /** The method's model variant (heads, batch copies, self-supervised head). */
  readonly model: ModelVariant;
  private readonly extractorNames: Set<string>;

  constructor(
    readonly policy: PhasePolicy,
    readonly setup: ModelSetup,
    public state: LearnerState,
  ) {
    this.featureDim = featureDim(setup.spec);
    this.model = policy.model ?? singleHeadVariant;
    this.extractorNames = extractorParamNames(setup.spec, setup.inputShape);
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

  /**
   * Freezes the previous extractor and appends the new classes' rows to every classifier head (old rows
   * unchanged); a head reading images rotated by b gets prototypes from features of images rotated by b.
   */
  async beforePhase(data: PhaseData): Promise<void> {
    if (data.phase === 0) {
      if (this.state.classes !== 0) throw new Error('phase 0 needs a fresh learner');
      this.state.classes = data.newClasses;
      return;
    }
    if (data.oldClasses !== this.state.classes) {
      throw new Error(`phase ${data.phase} expects ${data.oldClasses} known classes; the model has ${this.state.classes}`);
    }
    this.state.teacher = this.policy.distills && this.policy.trainsLaterPhases ? extractorWeights(this.state.weights, (k) => this.extractorNames.has(k)) : null;
    const rotations = [...new Set(this.model.heads.map((h) => h.rotation))];
    const prototypes =
      this.policy.classifierInit === 'prototype'
        ? await this.prototypesOf(data.train, data.newIndices, data.labelMap, data.oldClasses, data.newClasses, rotations)
        : null;
    const grown = this.model.heads.map((head) => {
      const name = `${head.prefix}.weight`;
      const old = this.state.weights.get(name);
      if (!old) throw new Error(`the model has no ${name}`);
      const rows =
        prototypes?.get(head.rotation) ??
        initialValue(
          { name: `${name}.phase${data.phase}`, shape: [data.newClasses, this.featureDim], init: { kind: 'uniform', bound: 1 / Math.sqrt(this.featureDim) } },
          this.setup.seed,
        );
      return [name, appendRows(old, rows)] as const;
    });
    for (const [name, w] of grown) this.state.weights.set(name, w);
    this.state.classes += data.newClasses;
  }

  /** The loss pieces of a phase: plain cross-entropy in phase 0, the method's pieces afterwards. */
  lossPieces(data: PhaseData): LossPiece[] {
    if (data.phase > 0) return this.policy.laterPhaseLoss(data.oldClasses, data.newClasses);
    return this.policy.basePhaseLoss?.() ?? [classificationLoss(1)];
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
      device: this.setup.backend.device,
      optimizer: { momentum: schedule.momentum, weightDecay: schedule.weightDecay, nesterov: schedule.nesterov },
      forward: ({ graph: g, params, x, y }) => {
        const out = this.model.trainForward({
          graph: g,
          spec,
          params,
          x,
          y,
          classes: this.state.classes,
          teacherFeatures: (batch: Value) => {
            if (!teacher) throw new Error(`phase ${data.phase}: the loss needs the frozen extractor, but none was kept`);
            return buildBackbone(spec, new ConstantParams(g, 'eval', teacher, TEACHER_PREFIX), batch).features;
          },
        });
        const { loss, parts } = combineLosses(pieces, {
          graph: g,
          targets: y,
          logits: out.logits,
          headLogits: out.headLogits,
          features: out.features,
          teacherFeatures: out.teacherFeatures,
          selfSupervised: out.selfSupervised,
        });
        return { loss, scalars: parts, logits: out.logits };
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

  /**
   * Drops the optimiser (each phase starts a fresh one) and stores the new classes' NCM means and, for methods that
   * read out with them, their Gaussian statistics (the base classes' pooled covariance too, in phase 0).
   */
  async afterPhase(data: PhaseData): Promise<void> {
    // A finished phase keeps neither velocities nor the teacher: the next phase starts a fresh optimiser and freezes
    // its teacher from these weights, so phase-N.onnx stays one small file.
    this.state.weights = withoutVelocities(this.state.weights);
    this.state.teacher = null;
    if (this.state.classMeans.length !== data.oldClasses * this.featureDim) {
      throw new Error(`the NCM means cover ${this.state.classMeans.length / this.featureDim} classes; ${data.oldClasses} were expected`);
    }
    const p = await this.run(data.train, data.newIndices, data.labelMap);
    const classes = Array.from({ length: data.newClasses }, (_, i) => data.oldClasses + i);
    this.state.classMeans = appendRows(this.state.classMeans, classPrototypes(p.outputs['features']!, p.targets, this.featureDim, classes));
    if (this.policy.classStatistics) this.addStatistics(p.outputs['features']!, p.targets, data.oldClasses, classes);
  }

  /**
   * Adds the Gaussian statistics of a finished phase's classes when the state lacks them (a phase 0 shared from a
   * run of a method that keeps none); returns whether it did.
   */
  async completeStatistics(data: PhaseData): Promise<boolean> {
    if (!this.policy.classStatistics || (this.state.statistics?.counts.length ?? 0) >= data.oldClasses + data.newClasses) return false;
    const p = await this.run(data.train, data.newIndices, data.labelMap);
    this.addStatistics(
      p.outputs['features']!,
      p.targets,
      data.oldClasses,
      Array.from({ length: data.newClasses }, (_, i) => data.oldClasses + i),
    );
    return true;
  }

  /** Appends the statistics of `classes` (output indices after `oldClasses`), from their training features. */
  private addStatistics(features: Float32Array, targets: Int32Array, oldClasses: number, classes: number[]): void {
    const d = this.featureDim;
    const known = this.state.statistics;
    if ((known?.counts.length ?? 0) !== oldClasses) {
      throw new Error(`the class statistics cover ${known?.counts.length ?? 0} classes; ${oldClasses} were expected`);
    }
    const m = classMoments(features, targets, d, classes);
    this.state.statistics = {
      counts: appendRows(known?.counts ?? new Float32Array(0), Float32Array.from(m.counts)),
      means: appendRows(known?.means ?? new Float32Array(0), Float32Array.from(m.means)),
      covariances: appendRows(known?.covariances ?? new Float32Array(0), Float32Array.from(m.covariances)),
      // The base classes' shape of a class is the prior of every later one, so it is fixed after phase 0.
      pooled: known?.pooled ?? Float32Array.from(pooledCovariance(m)),
    };
  }

  /** Mahalanobis scores of the classes learned so far for `features` [rows, D] (the Gaussian readout). */
  statisticsScores(features: Float32Array): Float32Array {
    const stats = this.state.statistics;
    if (!stats || !this.policy.classStatistics) throw new Error('this learner keeps no class statistics');
    const d = this.featureDim;
    const { means, precisions } = mahalanobisParameters(storedMoments(stats, d), stats.pooled, this.policy.classStatistics);
    return mahalanobisScores(features, means, precisions, d);
  }

  /**
   * Top-1/top-5, per-group, old/new and NCM accuracy on the test images of every seen class, read from the
   * variant's primary readout; variants with several readouts (SPB-M: ensemble and single head) also report
   * each readout's top-1 in `readouts`.
   */
  async evaluate(data: EvaluationData, stats: Pick<TrainStats, 'seconds' | 'images'>): Promise<PhaseEvaluation> {
    const classes = this.state.classes;
    const p = await this.run(data.test, data.indices, data.labelMap);
    const readouts: Record<string, number> = {};
    let logits = p.outputs['logits']!;
    if (this.policy.classStatistics) {
      // The Gaussian readout is the method's prediction; the cosine classifier it replaces is reported beside it.
      p.outputs['readout_classifier'] = logits;
      logits = this.statisticsScores(p.outputs['features']!);
    }
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
    for (const [name, scores] of Object.entries(p.outputs)) {
      if (!name.startsWith('readout_')) continue;
      const argmax = new Int32Array(p.count);
      for (let r = 0; r < p.count; r++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (scores[r * classes + c]! > scores[r * classes + best]!) best = c;
        argmax[r] = best;
      }
      readouts[name.slice('readout_'.length)] = fractionCorrect(argmax, p.targets);
    }
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
      ...(Object.keys(readouts).length ? { readouts } : {}),
    };
  }

  /** Runs the current model in eval mode (the variant's outputs: scores over the current classes, raw features...). */
  private async run(ds: ImageDataset, indices: Int32Array, labelMap: Int32Array) {
    const classes = this.state.classes;
    const graph = buildEvalGraph({
      name: `${this.setup.model}-eval`,
      batchSize: this.setup.evalBatchSize,
      inputShape: this.setup.inputShape,
      forward: ({ params, x }) => this.model.evalForward(this.setup.spec, params, x, classes),
    });
    const evaluator = await EvalSession.create(graph, this.setup.evalBatchSize, this.setup.inputShape, this.setup.backend);
    try {
      return await predict(evaluator, ds, this.state.weights, { labelMap, indices });
    } finally {
      await evaluator.release();
    }
  }

  /**
   * Normalised class-mean prototypes of output classes first..first+count-1 with the current extractor (eval mode,
   * no augmentation), for each rotation in `rotations` (features of the images rotated by it).
   */
  private async prototypesOf(
    ds: ImageDataset,
    indices: Int32Array,
    labelMap: Int32Array,
    first: number,
    count: number,
    rotations: readonly number[] = [0],
  ): Promise<Map<number, Float32Array>> {
    // The classifier rows are not needed for features; a model with only the known rows runs on any label map.
    const p = await this.run(ds, indices, labelMap);
    const classes = Array.from({ length: count }, (_, i) => first + i);
    return new Map(
      rotations.map((r) => {
        const features = p.outputs[featuresOutput(r)];
        if (!features) throw new Error(`the ${this.model.name} model has no ${featuresOutput(r)} output for the prototypes of rotation ${r}`);
        return [r, classPrototypes(features, p.targets, this.featureDim, classes)] as const;
      }),
    );
  }
}

/** A learner state before phase 0. */
export function emptyLearnerState(): LearnerState {
  return { weights: new Map(), teacher: null, classMeans: new Float32Array(0), classes: 0, statistics: null };
}

/** The batch seed of a phase, derived from the run seed. */
export function phaseSeed(seed: number, phase: number): number {
  return deriveSeed(seed, phase);
}
