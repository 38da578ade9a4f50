import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendRows, classPrototypes, nearestMean } from '../../src/cil/prototypes.js';

test('prototypes are the normalised mean of normalised features, per class', () => {
  // Class 0: (3, 4) and (0, 2) normalise to (0.6, 0.8) and (0, 1); mean (0.3, 0.9); normalised (1, 3)/sqrt(10).
  // Class 1: (-5, 0) alone -> (-1, 0). Rows of class 2 are ignored.
  const features = Float32Array.of(3, 4, 0, 2, -5, 0, 9, 9);
  const targets = Int32Array.of(0, 0, 1, 2);
  const rows = classPrototypes(features, targets, 2, [0, 1]);
  const s = Math.sqrt(10);
  const expected = [1 / s, 3 / s, -1, 0];
  for (const [i, v] of rows.entries()) assert.ok(Math.abs(v - expected[i]!) < 1e-6, `entry ${i}: ${v} vs ${expected[i]}`);
  // Order follows the requested classes.
  assert.deepEqual(Array.from(classPrototypes(features, targets, 2, [1])), [-1, 0]);
  assert.throws(() => classPrototypes(features, targets, 2, [3]), /class 3 has no images/);
  assert.throws(() => classPrototypes(features, targets, 3, [0]), /feature values/);
});

test('appending rows keeps the old classifier rows bit-identical', () => {
  // Values whose bit patterns would change under any arithmetic round trip (NaN payload, -0, subnormal).
  const bits = Uint32Array.of(0x3f800001, 0x80000000, 0x00000001, 0x7fc00123, 0x4049_0fdb, 0xbf7fffff);
  const old = new Float32Array(bits.buffer.slice(0));
  const grown = appendRows(old, Float32Array.of(0.5, -0.5));
  assert.equal(grown.length, 8);
  assert.deepEqual(new Uint32Array(grown.buffer, 0, 6), bits);
  assert.deepEqual(Array.from(grown.subarray(6)), [0.5, -0.5]);
});

test('nearest class mean picks the closest unit mean', () => {
  const means = Float32Array.of(1, 0, 0, 1);
  assert.deepEqual(Array.from(nearestMean(Float32Array.of(5, 1, 0.1, -3, 0.2, 4), means, 2)), [0, 0, 1]);
});
