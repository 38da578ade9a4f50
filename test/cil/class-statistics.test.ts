import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classMoments,
  mahalanobisParameters,
  mahalanobisScores,
  pooledCovariance,
  shrunkCovariance,
  spdInverse,
  unitRows,
} from '../../src/nn/class-statistics.js';

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-12, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}] = ${actual[i]}, expected ${expected[i]}`);
}

// Class 7: (1,0) and (0,1); class 9: (0,1), (0,1) and (0,-1), the last given at twice its length.
const FEATURES = Float32Array.of(1, 0, 0, 1, 0, 1, 0, 1, 0, -2);
const TARGETS = Int32Array.of(7, 7, 9, 9, 9);

test('class moments of a hand-made case: unit-length rows, means and unbiased covariances', () => {
  close(unitRows(Float32Array.of(3, 4), 2), [0.6, 0.8], 1e-9, 'unit row');
  const m = classMoments(FEATURES, TARGETS, 2, [7, 9]);
  assert.deepEqual(m.counts, [2, 3]);
  close(m.means, [0.5, 0.5, 0, 1 / 3], 1e-9, 'means');
  // Class 7: centred rows (0.5, -0.5), (-0.5, 0.5), one degree of freedom. Class 9: y deviations 2/3, 2/3, -4/3 over 2.
  close(m.covariances, [0.5, -0.5, -0.5, 0.5, 0, 0, 0, 4 / 3], 1e-9, 'covariances');
  // Pooled with weights 1 and 2.
  close(pooledCovariance(m), [1 / 6, -1 / 6, -1 / 6, (0.5 + 8 / 3) / 3], 1e-9, 'pooled');
  assert.throws(() => classMoments(FEATURES, TARGETS, 2, [7, 8]), /class 8 has no images/);
});

test('shrinkage blends towards the pooled covariance by image count and adds a trace-scaled ridge', () => {
  const own = [0.5, -0.5, -0.5, 0.5];
  const pooled = [1, 0, 0, 3];
  close(shrunkCovariance(own, 2, pooled, 2, { priorStrength: 0, shrinkage: 0.5 }), [0.75, -0.5, -0.5, 0.75], 1e-12, 'own + ridge');
  // One own degree of freedom and prior strength 3: (1 * own + 3 * pooled) / 4 = [0.875, -0.125; -0.125, 2.375]; trace/2 = 1.625.
  close(shrunkCovariance(own, 2, pooled, 2, { priorStrength: 3, shrinkage: 0.1 }), [0.875 + 0.1625, -0.125, -0.125, 2.375 + 0.1625], 1e-12, 'blend');
  close(shrunkCovariance(own, 2, pooled, 2, { priorStrength: Infinity, shrinkage: 0 }), [1 + 1e-6, 0, 0, 3 + 1e-6], 1e-12, 'shared');
  // A single image has no covariance of its own: it takes the pooled one whatever the prior strength.
  close(shrunkCovariance([9, 9, 9, 9], 1, pooled, 2, { priorStrength: 0.5, shrinkage: 0 }), [1 + 1e-6, 0, 0, 3 + 1e-6], 1e-12, 'one image');
});

test('the Cholesky inverse inverts a symmetric positive-definite matrix and refuses an indefinite one', () => {
  close(spdInverse([0.75, -0.5, -0.5, 0.75], 2), [2.4, 1.6, 1.6, 2.4], 1e-12, '2x2');
  const a = [4, 2, 0, 2, 5, 1, 0, 1, 3];
  const inv = spdInverse(a, 3);
  const product: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) product.push([0, 1, 2].reduce((s, k) => s + a[i * 3 + k]! * inv[k * 3 + j]!, 0));
  close(product, [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-12, 'A inv(A)');
  assert.throws(() => spdInverse([1, 2, 2, 1], 2), /not positive definite/);
});

test('Mahalanobis scores of a hand-made case, and the readout a whole class set gives', () => {
  // Mean (0.5, 0.5), precision [2.4 1.6; 1.6 2.4]: feature (1, 0) is (0.5, -0.5) away, distance 0.4.
  close(mahalanobisScores(Float32Array.of(1, 0), [0.5, 0.5], [2.4, 1.6, 1.6, 2.4], 2), [-0.4], 1e-6, 'score');
  // Scale does not matter (features are normalised first), and the nearer class wins.
  const m = classMoments(FEATURES, TARGETS, 2, [7, 9]);
  const { means, precisions } = mahalanobisParameters(m, pooledCovariance(m), { priorStrength: 10, shrinkage: 0.1 });
  const scores = mahalanobisScores(Float32Array.of(10, 0, 0, -5), means, precisions, 2);
  assert.ok(scores[0]! > scores[1]!, 'x axis: class 7');
  assert.ok(scores[3]! > scores[2]!, 'negative y axis: class 9');
  assert.throws(() => mahalanobisScores(Float32Array.of(1, 0), means, precisions.subarray(4), 2), /precision values/);
});
