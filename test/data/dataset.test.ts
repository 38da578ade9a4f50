import assert from 'node:assert/strict';
import { test } from 'node:test';
import { channelStatistics, classCounts, indicesOfClasses, selectClasses, subsetIndices, validateDataset } from '../../src/data/dataset.js';
import { syntheticDataset } from './helpers.js';

test('selectClasses keeps the chosen classes in dataset order with their original label ids', () => {
  const ds = syntheticDataset({ count: 20, channels: 1, height: 2, width: 3, classes: 4 });
  const picked = selectClasses(ds, [3, 1]);
  assert.equal(picked.count, 10);
  assert.deepEqual(Array.from(picked.labels), [1, 3, 1, 3, 1, 3, 1, 3, 1, 3]);
  assert.deepEqual(Array.from(picked.images.subarray(0, 6)), Array.from(ds.images.subarray(6, 12)));
  assert.deepEqual(picked.classNames, ds.classNames);
  validateDataset(picked);
  assert.deepEqual(Array.from(indicesOfClasses(ds, [0])), [0, 4, 8, 12, 16]);
  assert.throws(() => selectClasses(ds, [4]), /class 4 is outside 0\.\.3/);
});

test('subsetIndices copies images in the given order', () => {
  const ds = syntheticDataset({ count: 5, channels: 2, height: 2, width: 2, classes: 5 });
  const subset = subsetIndices(ds, [4, 0, 4]);
  assert.deepEqual(Array.from(subset.labels), [4, 0, 4]);
  assert.deepEqual(Array.from(subset.images.subarray(0, 8)), Array.from(ds.images.subarray(32, 40)));
  subset.images[0]! ^= 0xff;
  assert.notEqual(subset.images[0], ds.images[32]);
  assert.throws(() => subsetIndices(ds, [5]), /index 5 is outside 0\.\.4/);
});

test('validateDataset names the broken invariant', () => {
  const ds = syntheticDataset({ count: 4, channels: 3, height: 2, width: 2, classes: 2 });
  validateDataset(ds);
  assert.throws(() => validateDataset({ ...ds, images: ds.images.subarray(1) }), /images hold 47 bytes but 4 images of 3x2x2 need 48/);
  assert.throws(() => validateDataset({ ...ds, labels: Int32Array.of(0, 1, 2, 0) }), /label 2 of image 2 is outside 0\.\.1/);
  assert.throws(() => validateDataset({ ...ds, labels: Int32Array.of(0) }), /1 labels for 4 images/);
  assert.throws(() => validateDataset({ ...ds, mean: [0.5] }), /mean has 1 entries for 3 channels/);
  assert.throws(() => validateDataset({ ...ds, std: [1, 0, 1] }), /std entries must be > 0/);
  assert.throws(() => validateDataset({ ...ds, height: 0 }), /height must be an integer >= 1/);
});

test('classCounts and channelStatistics', () => {
  const ds = syntheticDataset({ count: 2, channels: 2, height: 1, width: 2, classes: 3 });
  ds.images.set([0, 255, 51, 51, 255, 255, 51, 51]);
  assert.deepEqual(Array.from(classCounts(ds)), [1, 1, 0]);
  const { mean, std } = channelStatistics(ds);
  assert.ok(Math.abs(mean[0]! - 0.75) < 1e-12);
  assert.ok(Math.abs(std[0]! - Math.sqrt(0.1875)) < 1e-12);
  assert.ok(Math.abs(mean[1]! - 0.2) < 1e-12);
  assert.ok(Math.abs(std[1]!) < 1e-6);
});
