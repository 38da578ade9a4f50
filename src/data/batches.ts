/**
 * Epoch ordering and batch assembly.
 *
 * Randomness is split into independent streams derived from (seed, epoch[, batch]): the epoch's
 * shuffle has one, and every batch's augmentation has its own. A batch therefore depends only on
 * the plan and its position, never on which thread built it or which batches were built before,
 * which is what lets the prefetcher build batches ahead in a worker and still match in-thread runs.
 */
import { Augmenter, NO_AUGMENTATION, type AugmentOptions } from './augment.js';
import type { ImageDataset } from './dataset.js';
import { deriveSeed, SeededRandom } from '../util/rng.js';

/** Stream tags for deriveSeed, so shuffle and augmentation draws never reuse a seed. */
const SHUFFLE_STREAM = 0x5348;
const AUGMENT_STREAM = 0x4147;

/** One model-ready batch. */
export interface Batch {
  /** size*C*H*W float32, NCHW. */
  x: Float32Array<ArrayBuffer>;
  /** size int64 target indices (after labelMap). */
  y: BigInt64Array<ArrayBuffer>;
  size: number;
  /** Dataset positions of the images in this batch. */
  indices: Int32Array<ArrayBuffer>;
}

export interface EpochOrderOptions {
  seed: number;
  epoch: number;
  /** Default true. */
  shuffle?: boolean;
  /** Restrict the epoch to these dataset positions (e.g. the current task's classes); default all. */
  indices?: ArrayLike<number>;
}

export interface EpochBatchOptions extends EpochOrderOptions {
  batchSize: number;
  /** Drop a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

export interface BatchOptions {
  augment?: AugmentOptions;
  /** Output index per dataset label (label -> index); negative = label not allowed in this model. */
  labelMap?: Int32Array;
}

/** Everything needed to build the batches of one epoch, in any thread. */
export interface BatchPlan extends BatchOptions {
  batches: Int32Array[];
  seed: number;
  epoch: number;
}

/**
 * The dataset positions of one epoch, shuffled with a stream derived from (seed, epoch) unless shuffle is false.
 *
 * @example
 * epochOrder(5, { seed: 1, epoch: 0, shuffle: false }); // Int32Array [0, 1, 2, 3, 4]
 */
export function epochOrder(count: number, options: EpochOrderOptions): Int32Array {
  const order = options.indices ? Int32Array.from(options.indices) : Int32Array.from({ length: count }, (_, i) => i);
  for (const index of order) {
    if (index < 0 || index >= count) throw new Error(`epoch indices: position ${index} is outside 0..${count - 1}`);
  }
  if (options.shuffle ?? true) new SeededRandom(deriveSeed(options.seed, options.epoch, SHUFFLE_STREAM)).shuffle(order);
  return order;
}

/**
 * Splits one epoch into batches of dataset positions.
 *
 * @example
 * const batches = epochBatches(train, { batchSize: 128, seed: 1993, epoch: 3 });
 * for (const indices of batches) train(makeBatch(train, indices, { augment: { padding: 4, flip: true } }, rng));
 */
export function epochBatches(ds: Pick<ImageDataset, 'count'>, options: EpochBatchOptions): Int32Array[] {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const order = epochOrder(ds.count, options);
  const batches: Int32Array[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const batch = order.subarray(start, Math.min(start + batchSize, order.length));
    if (batch.length < batchSize && options.dropLast) break;
    batches.push(batch);
  }
  return batches;
}

/**
 * A label map sending each class in `classOrder` to its position (the model's output index);
 * classes not in the order map to -1 and are rejected when batched.
 *
 * @example
 * buildLabelMap([7, 2, 5], 10); // label 7 -> 0, 2 -> 1, 5 -> 2, others -1
 */
export function buildLabelMap(classOrder: readonly number[], classCount: number): Int32Array {
  const map = new Int32Array(classCount).fill(-1);
  classOrder.forEach((cls, position) => {
    if (!Number.isInteger(cls) || cls < 0 || cls >= classCount) throw new Error(`class order entry ${cls} is outside 0..${classCount - 1}`);
    if (map[cls] !== -1) throw new Error(`class ${cls} appears twice in the class order`);
    map[cls] = position;
  });
  return map;
}

/**
 * int64 targets for the images at `indices`, remapped through labelMap when given.
 *
 * @example
 * batchTargets(train, Int32Array.of(0, 1), buildLabelMap([9, 0], 10)); // BigInt64Array of output indices
 */
export function batchTargets(ds: ImageDataset, indices: ArrayLike<number>, labelMap?: Int32Array): BigInt64Array<ArrayBuffer> {
  const targets = new BigInt64Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const label = ds.labels[indices[i]!];
    if (label === undefined) throw new Error(`dataset "${ds.name}": index ${indices[i]} is outside 0..${ds.count - 1}`);
    let target = label;
    if (labelMap) {
      target = labelMap[label] ?? -1;
      if (target < 0) {
        throw new Error(
          `dataset "${ds.name}": label ${label} (${ds.classNames[label] ?? '?'}) of image ${indices[i]} has no output index ` +
            `in the label map; the batch mixes in a class the model does not have yet`,
        );
      }
    }
    targets[i] = BigInt(target);
  }
  return targets;
}

/**
 * Builds one batch: augmented float32 images and int64 targets.
 * `rng` is required when the augmentation is random (crop padding or flip).
 *
 * @example
 * const batch = makeBatch(train, indices, { augment: { padding: 4, flip: true }, labelMap }, new SeededRandom(7));
 * feeds.input = new ort.Tensor('float32', batch.x, [batch.size, 3, 32, 32]);
 */
export function makeBatch(
  ds: ImageDataset,
  indices: ArrayLike<number>,
  options: BatchOptions = {},
  rng: SeededRandom | null = null,
  augmenter: Augmenter = new Augmenter(ds, options.augment ?? NO_AUGMENTATION),
): Batch {
  const ownIndices = Int32Array.from(indices);
  const x = new Float32Array(ownIndices.length * augmenter.imageSize);
  augmenter.augmentBatch(ds.images, ownIndices, rng, x);
  return { x, y: batchTargets(ds, ownIndices, options.labelMap), size: ownIndices.length, indices: ownIndices };
}

/**
 * The augmentation generator of batch `batchIndex` of an epoch.
 *
 * @example
 * const rng = batchRandom(plan.seed, plan.epoch, 0);
 */
export function batchRandom(seed: number, epoch: number, batchIndex: number): SeededRandom {
  return new SeededRandom(deriveSeed(seed, epoch, batchIndex, AUGMENT_STREAM));
}

/**
 * Shuffles, splits and describes one training epoch, ready for `makePlannedBatch` or a BatchPrefetcher.
 *
 * @example
 * const plan = planEpoch(train, { batchSize: 64, seed: 1993, epoch, augment: { padding: 4, flip: true }, labelMap });
 */
export function planEpoch(ds: Pick<ImageDataset, 'count'>, options: EpochBatchOptions & BatchOptions): BatchPlan {
  return {
    batches: epochBatches(ds, options),
    seed: options.seed,
    epoch: options.epoch,
    augment: options.augment,
    labelMap: options.labelMap,
  };
}

/**
 * Builds batch `batchIndex` of a plan; the result is the same in every thread and in any call order.
 *
 * @example
 * for (let i = 0; i < plan.batches.length; i++) step(makePlannedBatch(train, plan, i));
 */
export function makePlannedBatch(
  ds: ImageDataset,
  plan: BatchPlan,
  batchIndex: number,
  augmenter: Augmenter = new Augmenter(ds, plan.augment ?? NO_AUGMENTATION),
): Batch {
  const indices = plan.batches[batchIndex];
  if (!indices) throw new Error(`batch ${batchIndex} is outside the plan's 0..${plan.batches.length - 1}`);
  const rng = augmenter.isRandom ? batchRandom(plan.seed, plan.epoch, batchIndex) : null;
  return makeBatch(ds, indices, plan, rng, augmenter);
}

export interface EvalBatchOptions {
  batchSize: number;
  labelMap?: Int32Array;
  /** Evaluate only these positions (e.g. test images of the classes seen so far); default all. */
  indices?: ArrayLike<number>;
}

/**
 * Batches for evaluation: dataset order, normalised, no augmentation, last batch kept.
 *
 * @example
 * for (const batch of evalBatches(test, { batchSize: 256, labelMap })) correct += countCorrect(run(batch), batch.y);
 */
export function* evalBatches(ds: ImageDataset, options: EvalBatchOptions): Generator<Batch> {
  const batches = epochBatches(ds, { batchSize: options.batchSize, seed: 0, epoch: 0, shuffle: false, indices: options.indices });
  const augmenter = new Augmenter(ds, NO_AUGMENTATION);
  for (const indices of batches) yield makeBatch(ds, indices, { labelMap: options.labelMap }, null, augmenter);
}
