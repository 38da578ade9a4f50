import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Augmenter } from '../../src/data/augment.js';
import { batchTargets, buildLabelMap, epochBatches, epochOrder, evalBatches, makeBatch, makePlannedBatch, planEpoch } from '../../src/data/batches.js';
import { SeededRandom } from '../../src/util/rng.js';
import { syntheticDataset } from './helpers.js';

const ds = syntheticDataset({ count: 103, channels: 2, height: 6, width: 6, classes: 5 });
const size = 2 * 6 * 6;
const sorted = (batches: Int32Array[]) => batches.flatMap((b) => Array.from(b)).sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('epochBatches covers every image once, with the requested batch sizes', () => {
  const batches = epochBatches(ds, { batchSize: 10, seed: 1, epoch: 0 });
  assert.equal(batches.length, 11);
  assert.deepEqual(
    batches.map((b) => b.length),
    [...new Array(10).fill(10), 3],
  );
  assert.deepEqual(sorted(batches), range(103));
  const dropped = epochBatches(ds, { batchSize: 10, seed: 1, epoch: 0, dropLast: true });
  assert.equal(dropped.length, 10);
  assert.deepEqual(
    dropped.map((b) => Array.from(b)),
    batches.slice(0, 10).map((b) => Array.from(b)),
  );
  assert.throws(() => epochBatches(ds, { batchSize: 0, seed: 1, epoch: 0 }), /batchSize must be a positive integer/);
});

test('epoch order is reproducible per (seed, epoch), different across epochs and seeds, identity without shuffle', () => {
  const order = (seed: number, epoch: number) => Array.from(epochOrder(ds.count, { seed, epoch }));
  assert.deepEqual(order(7, 2), order(7, 2));
  assert.notDeepEqual(order(7, 2), order(7, 3));
  assert.notDeepEqual(order(7, 2), order(8, 2));
  assert.notDeepEqual(order(7, 2), range(103));
  assert.deepEqual(Array.from(epochOrder(ds.count, { seed: 7, epoch: 2, shuffle: false })), range(103));
});

test('an epoch can be restricted to a subset of positions', () => {
  const subset = [4, 9, 50, 77, 102];
  const batches = epochBatches(ds, { batchSize: 2, seed: 3, epoch: 1, indices: subset });
  assert.deepEqual(sorted(batches), subset);
  assert.throws(() => epochOrder(ds.count, { seed: 1, epoch: 0, indices: [103] }), /position 103 is outside 0\.\.102/);
});

test('makeBatch produces NCHW float32 images and int64 labels, remapped by labelMap', () => {
  const indices = Int32Array.of(3, 0, 8);
  const plain = makeBatch(ds, indices);
  assert.equal(plain.size, 3);
  assert.equal(plain.x.length, 3 * size);
  assert.deepEqual(Array.from(plain.y), [3n, 0n, 3n]);
  assert.equal(plain.x[size], Math.fround((ds.images[0]! / 255 - ds.mean[0]!) / ds.std[0]!));
  const labelMap = buildLabelMap([3, 0], 5);
  assert.deepEqual(Array.from(labelMap), [1, -1, -1, 0, -1]);
  assert.deepEqual(Array.from(makeBatch(ds, indices, { labelMap }).y), [0n, 1n, 0n]);
  assert.throws(() => makeBatch(ds, [1], { labelMap }), /label 1 \(class1\) of image 1 has no output index/);
  assert.throws(() => batchTargets(ds, [500]), /index 500 is outside 0\.\.102/);
  assert.throws(() => buildLabelMap([1, 1], 5), /class 1 appears twice/);
  assert.throws(() => buildLabelMap([5], 5), /class order entry 5 is outside 0\.\.4/);
});

test('planned batches depend only on (plan, index): same in any order, different per epoch', () => {
  const options = { batchSize: 16, seed: 5, augment: { padding: 2, flip: true } };
  const plan = planEpoch(ds, { ...options, epoch: 0 });
  const forward = plan.batches.map((_, i) => makePlannedBatch(ds, plan, i));
  const backward = plan.batches
    .map((_, i) => plan.batches.length - 1 - i)
    .map((i) => makePlannedBatch(ds, plan, i))
    .reverse();
  assert.deepEqual(backward, forward);
  const again = makePlannedBatch(ds, plan, 2, new Augmenter(ds, plan.augment));
  assert.deepEqual(again, forward[2]);
  const nextEpoch = planEpoch(ds, { ...options, epoch: 1 });
  assert.notDeepEqual(makePlannedBatch(ds, nextEpoch, 0).indices, forward[0]!.indices);
  // Same images, different augmentation draws when only the seed changes the batch stream.
  const unshuffled = (seed: number) => makePlannedBatch(ds, planEpoch(ds, { ...options, seed, epoch: 0, shuffle: false }), 0);
  assert.deepEqual(unshuffled(1).indices, unshuffled(2).indices);
  assert.notDeepEqual(unshuffled(1).x, unshuffled(2).x);
  assert.throws(() => makePlannedBatch(ds, plan, 99), /batch 99 is outside the plan's 0\.\.6/);
});

test('makeBatch with augmentation is reproducible for the same generator seed', () => {
  const augment = { padding: 3, flip: true };
  const a = makeBatch(ds, [1, 2, 3], { augment }, new SeededRandom(4));
  const b = makeBatch(ds, [1, 2, 3], { augment }, new SeededRandom(4));
  assert.deepEqual(a.x, b.x);
  assert.notDeepEqual(makeBatch(ds, [1, 2, 3], { augment }, new SeededRandom(5)).x, a.x);
});

test('evalBatches walks the dataset in order without augmentation', () => {
  const batches = [...evalBatches(ds, { batchSize: 40 })];
  assert.deepEqual(
    batches.map((b) => b.size),
    [40, 40, 23],
  );
  assert.deepEqual(
    batches.flatMap((b) => Array.from(b.indices)),
    range(103),
  );
  assert.deepEqual(
    batches[1],
    makeBatch(
      ds,
      Int32Array.from({ length: 40 }, (_, i) => 40 + i),
    ),
  );
  const subset = [...evalBatches(ds, { batchSize: 4, indices: [10, 5], labelMap: buildLabelMap([0], 5) })];
  assert.deepEqual(Array.from(subset[0]!.y), [0n, 0n]);
});
