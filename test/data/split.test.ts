import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classCounts, type ImageDataset } from '../../src/data/dataset.js';
import { stratifiedSplit } from '../../src/data/split.js';

function labelled(labels: number[], classes: number): ImageDataset {
  return {
    name: 'toy/train',
    images: Uint8Array.from(labels.map((_, i) => i % 256)),
    labels: Int32Array.from(labels),
    count: labels.length,
    channels: 1,
    height: 1,
    width: 1,
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
    mean: [0.5],
    std: [0.25],
  };
}

test('a stratified split holds out the fraction of every class, disjointly, reproducibly by seed', () => {
  // 20 images of class 0, 10 of class 1, 1 of class 2 (too few to hold any out), none of class 3.
  const labels = [...Array(20).fill(0), ...Array(10).fill(1), 2];
  const ds = labelled(labels, 4);
  const { fit, validation } = stratifiedSplit(ds, 0.2, 7);
  assert.deepEqual(Array.from(classCounts(validation)), [4, 2, 0, 0]);
  assert.deepEqual(Array.from(classCounts(fit)), [16, 8, 1, 0]);
  // Every image lands in exactly one part (pixel values are the image positions here).
  assert.deepEqual(
    [...fit.images, ...validation.images].sort((a, b) => a - b),
    labels.map((_, i) => i),
  );
  assert.deepEqual(validation.mean, [0.5]);
  assert.deepEqual(validation.std, [0.25]);
  assert.deepEqual(stratifiedSplit(ds, 0.2, 7).validation.images, validation.images, 'same seed, same split');
  assert.notDeepEqual(stratifiedSplit(ds, 0.2, 8).validation.images, validation.images, 'another seed, another split');
  assert.throws(() => stratifiedSplit(ds, 1, 7), /between 0 and 1/);
  assert.throws(() => stratifiedSplit(ds, Number.NaN, 7), /between 0 and 1/);
});
