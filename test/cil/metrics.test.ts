import assert from 'node:assert/strict';
import { test } from 'node:test';
import { averageForgetting, averageIncrementalAccuracy, backwardTransfer, fractionCorrect, summarize, type PhaseEvaluation } from '../../src/cil/metrics.js';

// Rows: after phase t; columns: class group g.
const matrix = [[0.9], [0.7, 0.8], [0.6, 0.75, 0.5]];

test('forgetting and backward transfer on a hand-made accuracy matrix', () => {
  // Group 0: best before the last phase 0.9, final 0.6 -> 0.3; group 1: best 0.8, final 0.75 -> 0.05.
  assert.ok(Math.abs(averageForgetting(matrix) - (0.3 + 0.05) / 2) < 1e-12);
  // (0.6 - 0.9 + 0.75 - 0.8) / 2
  assert.ok(Math.abs(backwardTransfer(matrix) - (-0.3 - 0.05) / 2) < 1e-12);
  // A group that improves later: best earlier accuracy is taken over phases g..T-1, so forgetting can be 0.
  assert.ok(Math.abs(averageForgetting([[0.5], [0.8, 0.9], [0.8, 0.9, 0.7]]) - 0) < 1e-12);
  assert.ok(Math.abs(averageForgetting([[0.5], [0.8, 0.9], [0.6, 0.9, 0.7]]) - 0.1) < 1e-12);
  assert.equal(averageForgetting([[0.9]]), 0);
  assert.throws(() => averageForgetting([[0.9], [0.5]]), /needs 2/);
});

test('average incremental accuracy includes phase 0; summarize reads the per-phase evaluations', () => {
  assert.ok(Math.abs(averageIncrementalAccuracy([0.9, 0.7, 0.5]) - 0.7) < 1e-12);
  const phases: PhaseEvaluation[] = matrix.map((row, t) => ({
    phase: t,
    classesSeen: 2 * (t + 1),
    accuracy: row.reduce((a, v) => a + v, 0) / row.length,
    top5: 1,
    ncmAccuracy: 0.5 + t * 0.1,
    groupAccuracy: row,
    oldAccuracy: t === 0 ? null : 0,
    newAccuracy: row[t]!,
    testImages: 10,
    trainSeconds: 1,
    trainImages: 10,
    imagesPerSecond: 10,
  }));
  const s = summarize(phases);
  assert.ok(Math.abs(s.averageIncrementalAccuracy - (0.9 + 0.75 + 0.6166666666666667) / 3) < 1e-12);
  assert.ok(Math.abs(s.finalAccuracy - 0.6166666666666667) < 1e-12);
  assert.ok(Math.abs(s.forgetting - 0.175) < 1e-12);
  assert.ok(Math.abs(s.averageIncrementalNcmAccuracy - 0.6) < 1e-12);
  assert.ok(Math.abs(s.finalNcmAccuracy - 0.7) < 1e-12);
});

test('fractionCorrect filters by target', () => {
  const predicted = Int32Array.of(0, 1, 1, 2);
  const targets = Int32Array.of(0, 0, 1, 2);
  assert.equal(fractionCorrect(predicted, targets), 0.75);
  assert.equal(
    fractionCorrect(predicted, targets, (t) => t === 0),
    0.5,
  );
  assert.equal(
    fractionCorrect(predicted, targets, (t) => t === 5),
    0,
  );
});
