/**
 * The epoch loop shared by plain training and every class-incremental method: prefetched batches, per-iteration
 * learning rates, progress events, and a hook at each epoch end (checkpoints).
 */
import { planEpoch, type BatchOptions } from '../data/batches.js';
import type { ImageDataset } from '../data/dataset.js';
import { BatchPrefetcher } from '../data/prefetch.js';
import type { StepResult, TrainingSession } from './session.js';

export interface StepEvent {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  iteration: number;
  loss: number;
  scalars: Record<string, number>;
  /** Running top-1 accuracy of the epoch on augmented training batches. */
  trainAccuracy: number;
  imagesPerSecond: number;
  lrs: Record<string, number>;
}

export interface EpochEvent {
  epoch: number;
  epochs: number;
  meanLoss: number;
  meanScalars: Record<string, number>;
  trainAccuracy: number;
  seconds: number;
  images: number;
}

export interface EpochLoopOptions {
  trainer: TrainingSession;
  dataset: ImageDataset;
  /** Dataset positions to train on (e.g. the current phase's classes); default all. */
  indices?: ArrayLike<number>;
  batch: BatchOptions;
  batchSize: number;
  seed: number;
  epochs: number;
  /** First epoch to run (for resumed runs). */
  startEpoch?: number;
  /** Stop after this many iterations in all (fractional epoch counts, e.g. `--epochs-scale`); the cut epoch still ends with onEpochEnd. */
  maxIterations?: number;
  /** Learning rate of each group at a global iteration. */
  lrAt(iteration: number): Record<string, number>;
  /** Batch-building worker threads (0: build in this thread). */
  workers?: number;
  onStep?(e: StepEvent): void;
  onEpochEnd?(e: EpochEvent): Promise<void> | void;
}

/** Number of full batches per epoch (the last partial batch is dropped: the graph has a fixed batch size). */
export function batchesPerEpoch(count: number, batchSize: number): number {
  return Math.floor(count / batchSize);
}

/**
 * Runs epochs [startEpoch, epochs).
 * @example await trainEpochs({ trainer, dataset, batch: { augment }, batchSize: 128, seed: 1, epochs: 5, lrAt });
 */
export async function trainEpochs(opts: EpochLoopOptions): Promise<void> {
  const count = opts.indices ? opts.indices.length : opts.dataset.count;
  const perEpoch = batchesPerEpoch(count, opts.batchSize);
  if (perEpoch === 0) throw new Error(`${count} training images are fewer than one batch of ${opts.batchSize}; lower --batch-size`);
  for (let epoch = opts.startEpoch ?? 0; epoch < opts.epochs; epoch++) {
    const plan = planEpoch(opts.dataset, {
      batchSize: opts.batchSize,
      seed: opts.seed,
      epoch,
      dropLast: true,
      indices: opts.indices,
      ...opts.batch,
    });
    const prefetch = new BatchPrefetcher(opts.dataset, plan, { workers: opts.workers ?? 1, depth: 3 });
    const started = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const scalarSums: Record<string, number> = {};
    let b = 0;
    try {
      for await (const batch of prefetch) {
        const iteration = epoch * perEpoch + b;
        if (opts.maxIterations !== undefined && iteration >= opts.maxIterations) break;
        const lrs = opts.lrAt(iteration);
        const r: StepResult = await opts.trainer.step(batch.x, batch.y, lrs);
        lossSum += r.loss;
        correct += r.correct;
        seen += batch.size;
        for (const [k, v] of Object.entries(r.scalars)) scalarSums[k] = (scalarSums[k] ?? 0) + v;
        b++;
        opts.onStep?.({
          epoch,
          epochs: opts.epochs,
          batch: b,
          batches: perEpoch,
          iteration,
          loss: r.loss,
          scalars: r.scalars,
          trainAccuracy: correct / seen,
          imagesPerSecond: seen / ((performance.now() - started) / 1000),
          lrs,
        });
      }
    } finally {
      await prefetch.close();
    }
    const meanScalars: Record<string, number> = {};
    for (const [k, v] of Object.entries(scalarSums)) meanScalars[k] = v / b;
    await opts.onEpochEnd?.({
      epoch,
      epochs: opts.epochs,
      meanLoss: lossSum / b,
      meanScalars,
      trainAccuracy: correct / seen,
      seconds: (performance.now() - started) / 1000,
      images: seen,
    });
  }
}
