import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import { pooledCovariance } from '../../src/nn/class-statistics.js';
import { runProtocol } from '../../src/cil/run.js';
import { temporaryFolder, tinyProtocol, writeImageFolder } from './helpers.js';

const CLASSES = ['c0', 'c1', 'c2', 'c3'];

test('gauss keeps Gaussian statistics of every class in its checkpoints and predicts with them', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), CLASSES, 16);
  await writeImageFolder(join(root, 'data', 'val'), CLASSES, 4);
  const common = { protocol: tinyProtocol(2, 4), preset: 'tiny', dataPath: join(root, 'data'), threads: 1, workers: 0 };
  const gauss = await runProtocol({ ...common, method: 'gauss', outDir: join(root, 'gauss'), methodConfig: { priorStrength: 5, shrinkage: 0.2 } });
  const proto = await runProtocol({ ...common, method: 'proto', outDir: join(root, 'proto') });

  // Phase 0 trains exactly as proto's does; later phases train nothing.
  const g0 = loadCilCheckpoint(join(root, 'gauss', 'phase-0.onnx')).state;
  assert.deepEqual(g0.weights, loadCilCheckpoint(join(root, 'proto', 'phase-0.onnx')).state.weights);
  assert.deepEqual(gauss.phases.slice(1).map((p) => p.trainImages), [0, 0]);
  for (const p of gauss.phases) {
    assert.ok(p.readouts && typeof p.readouts['classifier'] === 'number', 'the cosine classifier is reported beside the Gaussian readout');
    for (const v of [p.accuracy, p.top5, ...p.groupAccuracy]) assert.ok(v >= 0 && v <= 1);
  }
  // proto's prediction is the cosine classifier with prototype rows: gauss reports the same as its classifier readout.
  assert.deepEqual(gauss.phases.map((p) => p.readouts!['classifier']), proto.phases.map((p) => p.accuracy));

  // Statistics grow with the classes: counts per class, [C, D] means, [C, D, D] covariances, the base classes' pooled covariance.
  const s2 = loadCilCheckpoint(join(root, 'gauss', 'phase-2.onnx')).state.statistics!;
  const d = s2.pooled.length ** 0.5;
  assert.deepEqual(Array.from(s2.counts), [16, 16, 16, 16]);
  assert.equal(s2.means.length, 4 * d);
  assert.equal(s2.covariances.length, 4 * d * d);
  assert.deepEqual(g0.statistics!.pooled, s2.pooled, 'the pooled covariance is fixed after phase 0');
  assert.deepEqual(s2.covariances.subarray(0, 2 * d * d), g0.statistics!.covariances, 'old classes keep their statistics');
  // The pooled covariance is that of the base classes' own covariances.
  const base = { dim: d, counts: [16, 16], means: Float64Array.from(g0.statistics!.means), covariances: Float64Array.from(g0.statistics!.covariances) };
  const pooled = pooledCovariance(base);
  for (let i = 0; i < d * d; i++) assert.ok(Math.abs(pooled[i]! - g0.statistics!.pooled[i]!) < 1e-6);
  assert.equal(loadCilCheckpoint(join(root, 'proto', 'phase-2.onnx')).state.statistics, null, 'methods without a Gaussian readout keep none');

  // A phase 0 shared from proto (which keeps no statistics) gets them added and is evaluated with the Gaussian readout.
  const shared = await runProtocol({ ...common, method: 'gauss', outDir: join(root, 'shared'), methodConfig: { priorStrength: 5, shrinkage: 0.2 }, baseFrom: join(root, 'proto') });
  const accuracies = (r: typeof gauss) => r.phases.map((p) => [p.accuracy, p.top5, p.groupAccuracy, p.readouts]);
  assert.deepEqual(accuracies(shared), accuracies(gauss));
  assert.deepEqual(loadCilCheckpoint(join(root, 'shared', 'phase-0.onnx')).state.statistics, g0.statistics);
});
