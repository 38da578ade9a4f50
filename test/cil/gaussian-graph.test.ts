import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classMoments, mahalanobisParameters, mahalanobisScores, pooledCovariance } from '../../src/nn/class-statistics.js';
import { constTensor, GraphBuilder } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { l2Normalize } from '../../src/nn/functional.js';
import { mahalanobisScores as mahalanobisGraph } from '../../src/nn/mahalanobis.js';
import { createBackend } from '../../src/runtime/backend.js';

test('the Mahalanobis readout in ONNX ops equals the array implementation', async () => {
  const dim = 5;
  const classes = 3;
  const rows = 7;
  // Deterministic features: three clusters, and test rows in between.
  const value = (i: number) => Math.sin(i * 12.9898) * 0.5;
  const train = Float32Array.from({ length: 30 * dim }, (_, i) => value(i) + (Math.floor(i / dim) % classes === 0 ? 1 : 0) * ((i % dim) + 1));
  const targets = Int32Array.from({ length: 30 }, (_, r) => r % classes);
  const m = classMoments(train, targets, dim, [0, 1, 2]);
  const { means, precisions } = mahalanobisParameters(m, pooledCovariance(m), { priorStrength: 4, shrinkage: 0.05 });
  const features = Float32Array.from({ length: rows * dim }, (_, i) => value(i + 1000) * 3);

  const g = new GraphBuilder('mahalanobis');
  const f = g.input('features', 'float32', [-1, dim]);
  const mu = g.initializer('means', constTensor('float32', [classes, dim], means));
  const p = g.initializer('precisions', constTensor('float32', [classes, dim, dim], precisions));
  g.output(mahalanobisGraph(l2Normalize(f, 1), mu, p), 'scores');
  const { ort, session } = await createBackend(encodeModel(g.toModel()), { threads: 1 });
  const out = await session.run({ features: new ort.Tensor('float32', features, [rows, dim]) });
  const fromGraph = out['scores']!.data as Float32Array;
  const fromArrays = mahalanobisScores(features, means, precisions, dim);
  assert.equal(fromGraph.length, rows * classes);
  for (let i = 0; i < fromArrays.length; i++) {
    assert.ok(Math.abs(fromGraph[i]! - fromArrays[i]!) <= 1e-4 * Math.max(1, Math.abs(fromArrays[i]!)), `score ${i}: ${fromGraph[i]} vs ${fromArrays[i]}`);
  }
  await session.release();
});
