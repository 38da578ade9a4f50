/**
 * gauss (Gaussian class statistics over the phase-0 extractor, Mahalanobis readout): one tiny protocol run checked
 * from every side: the statistics its checkpoints keep, a phase 0 shared from proto, its exported model against the
 * learner's readout, classes added in the app against the classes the run learned, and `increment`; and a phase 0
 * shared between gauss runs with different options, on Fashion-MNIST images.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mahalanobisStatistics } from '../../src/app/model-edit.js';
import { loadClassifier } from '../../src/app/node.js';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import { loadProtocolData } from '../../src/cil/data.js';
import { incrementModel } from '../../src/cil/increment.js';
import { IncrementalLearner } from '../../src/cil/learner.js';
import { resolveMethod } from '../../src/cil/methods/index.js';
import { loadProtocol } from '../../src/cil/protocol.js';
import { phaseZeroIdentity, runProtocol, type RunResult } from '../../src/cil/run.js';
import { singleHeadVariant } from '../../src/cil/variants.js';
import { evaluateExportedModel } from '../../src/export/evaluate.js';
import { buildLabelMap } from '../../src/data/batches.js';
import { indicesOfClasses, type ImageDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/registry.js';
import { exportModel, loadExportSource, MAHALANOBIS_TEMPERATURE } from '../../src/export/index.js';
import { decodeModel } from '../../src/graph/onnx-proto.js';
import { mahalanobisParameters, pooledCovariance, storedMoments } from '../../src/nn/class-statistics.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { predict } from '../../src/train/evaluate.js';
import { EvalSession } from '../../src/train/session.js';
import { buildEvalGraph } from '../../src/train/training-graph.js';
import { fileTemporaryFolder, TINY_INPUT, tinyProtocol, tinySetup, writeImageFolder } from './helpers.js';

const CLASSES = ['c0', 'c1', 'c2', 'c3'];
const CONFIG = { priorStrength: 5, shrinkage: 0.2 };
const INPUT = TINY_INPUT;
const protocol = tinyProtocol(2, 4);

// One gauss run (2 base classes, then c2, then c3) and one proto run on a tiny image folder, shared by the tests.
const root = fileTemporaryFolder();
const data = join(root, 'data');
const common = { protocol, preset: 'tiny', dataPath: data, threads: 1, workers: 0 };
let runs: Promise<{ gauss: RunResult; proto: RunResult }> | undefined;
function gaussAndProto(): Promise<{ gauss: RunResult; proto: RunResult }> {
  runs ??= (async () => {
    await writeImageFolder(join(data, 'train'), CLASSES, 16);
    await writeImageFolder(join(data, 'val'), CLASSES, 4);
    // The protocol's gauss settings, with the run's own over them key by key, make CONFIG.
    const withSettings = { ...protocol, methodConfig: { gauss: { priorStrength: CONFIG.priorStrength, shrinkage: 7 }, spb: { distillation: false } } };
    const gauss = await runProtocol({
      ...common,
      protocol: withSettings,
      method: 'gauss',
      outDir: join(root, 'gauss'),
      methodConfig: { shrinkage: CONFIG.shrinkage },
    });
    const proto = await runProtocol({ ...common, method: 'proto', outDir: join(root, 'proto') });
    return { gauss, proto };
  })();
  return runs;
}
const phaseFile = (phase: number) => join(root, 'gauss', `phase-${phase}.onnx`);

/** A test image as the app takes it. */
const image = (ds: ImageDataset, idx: number) => ({ data: ds.images.slice(idx * 64, idx * 64 + 64), shape: [8, 8] });

function argmax(scores: Float32Array, width: number): number[] {
  return Array.from({ length: scores.length / width }, (_, r) => {
    const row = scores.subarray(r * width, (r + 1) * width);
    return row.indexOf(Math.max(...row));
  });
}

test('gauss keeps Gaussian statistics of every class in its checkpoints and predicts with them', async () => {
  const { gauss, proto } = await gaussAndProto();
  assert.deepEqual(gauss.methodConfig, { ...CONFIG, rotations: 1 });
  const recorded = JSON.parse(readFileSync(join(root, 'gauss', 'config.json'), 'utf8')) as { methodConfig: unknown; protocol: object };
  assert.deepEqual(recorded.methodConfig, gauss.methodConfig);
  assert.ok(!('methodConfig' in recorded.protocol), 'the run records the settings it resolved, not the protocol map');

  // Phase 0 trains exactly as proto's does; later phases train nothing.
  const g0 = loadCilCheckpoint(phaseFile(0)).state;
  assert.deepEqual(g0.weights, loadCilCheckpoint(join(root, 'proto', 'phase-0.onnx')).state.weights);
  assert.deepEqual(
    gauss.phases.slice(1).map((p) => p.trainImages),
    [0, 0],
  );
  for (const p of gauss.phases) {
    assert.ok(p.readouts && typeof p.readouts['classifier'] === 'number', 'the cosine classifier is reported beside the Gaussian readout');
    for (const v of [p.accuracy, p.top5, ...p.groupAccuracy]) assert.ok(v >= 0 && v <= 1);
  }
  // proto's prediction is the cosine classifier with prototype rows: gauss reports the same as its classifier readout.
  assert.deepEqual(
    gauss.phases.map((p) => p.readouts!['classifier']),
    proto.phases.map((p) => p.accuracy),
  );

  // Statistics grow with the classes: counts per class, [C, D] means, [C, D, D] covariances, the base classes' pooled covariance.
  const s2 = loadCilCheckpoint(phaseFile(2)).state.statistics!;
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
  const shared = await runProtocol({ ...common, method: 'gauss', outDir: join(root, 'shared'), methodConfig: CONFIG, baseFrom: join(root, 'proto') });
  const accuracies = (r: typeof gauss) => r.phases.map((p) => [p.accuracy, p.top5, p.groupAccuracy, p.readouts]);
  assert.deepEqual(accuracies(shared), accuracies(gauss));
  assert.deepEqual(loadCilCheckpoint(join(root, 'shared', 'phase-0.onnx')).state.statistics, g0.statistics);
});

test('a run reusing the phase 0 of a gauss run with other options reports that phase with its own readout', async () => {
  // Real images, where the options change the accuracy (every option set separates the tiny image folder's classes).
  const fmnist = { ...loadProtocol('fmnist-mini-b5-p5'), incrementalPhases: 0 };
  const base = { protocol: fmnist, preset: 'fmnist-mini-b5-p5', epochsScale: 0.125, threads: 1, workers: 0, method: 'gauss' };
  const first = await runProtocol({ ...base, outDir: join(root, 'fmnist-defaults') });
  const other = await runProtocol({
    ...base,
    methodConfig: { priorStrength: 0, shrinkage: 1 },
    outDir: join(root, 'fmnist-other'),
    baseFrom: join(root, 'fmnist-defaults'),
  });
  assert.notEqual(other.phases[0]!.accuracy, first.phases[0]!.accuracy);
  assert.equal(other.phases[0]!.trainSeconds, first.phases[0]!.trainSeconds, "the training time stays the shared run's");
  // Its own readout: what its exported phase 0 (options from its checkpoint) scores on the test images.
  const clf = await loadClassifier(exportModel(loadCheckpoint(join(root, 'fmnist-other', 'phase-0.onnx'))).bytes, { threads: 1 });
  const evaluation = await evaluateExportedModel(clf, loadDataset('fashion-mnist-mini', 'test'));
  await clf.dispose();
  assert.equal(evaluation.count, 500);
  assert.equal(evaluation.accuracy, other.phases[0]!.accuracy);
});

test('the exported model of a gauss run predicts what the learner predicts on every test image, in onnxruntime-node and -web', async () => {
  const { gauss } = await gaussAndProto();
  const { test: testSet } = await loadProtocolData(protocol.data, data);
  // The learner's readout: Mahalanobis scores of its evaluation graph's features, as `evaluate` computes them.
  const { state } = loadCilCheckpoint(phaseFile(2));
  const setup = tinySetup(protocol.seed);
  const learner = new IncrementalLearner(resolveMethod('gauss', CONFIG).policy, setup, state);
  const graph = buildEvalGraph({
    name: 'features',
    batchSize: 16,
    inputShape: INPUT,
    forward: ({ params, x }) => singleHeadVariant.evalForward(setup.spec, params, x, 4),
  });
  const evaluator = await EvalSession.create(graph, 16, INPUT, { threads: 1 });
  const indices = indicesOfClasses(testSet, [0, 1, 2, 3]);
  const p = await predict(evaluator, testSet, state.weights, { labelMap: buildLabelMap([0, 1, 2, 3], 4), indices }).finally(() => evaluator.release());
  const scores = learner.statisticsScores(p.outputs['features']!);
  const predicted = argmax(scores, 4);
  assert.equal(predicted.filter((c, r) => c === p.targets[r]).length / p.count, gauss.phases[2]!.accuracy, "these are the learner's evaluation predictions");

  const source = loadExportSource(phaseFile(2));
  const exported = exportModel(source.checkpoint, { accuracy: source.accuracy });
  assert.deepEqual(exported.info.readout, { kind: 'mahalanobis', ...CONFIG });
  assert.deepEqual(exported.info.classNames, CLASSES);
  assert.equal(exported.info.method, 'gauss');
  assert.equal(exported.info.accuracy, gauss.phases[2]!.accuracy);
  const outputs: Float32Array[] = [];
  for (const runtime of ['node', 'web'] as const) {
    const clf = await loadClassifier(exported.bytes, { runtime, threads: 1 });
    const { probabilities } = await clf.infer(Array.from(indices, (i) => image(testSet, i)));
    await clf.dispose();
    assert.deepEqual(argmax(probabilities, 4), predicted, `${runtime}: the exported model predicts as the learner on every test image`);
    for (let r = 0; r < p.count; r++) {
      const row = Array.from(scores.subarray(r * 4, r * 4 + 4), (v) => v / MAHALANOBIS_TEMPERATURE);
      const max = Math.max(...row);
      const z = row.reduce((a, v) => a + Math.exp(v - max), 0);
      for (let c = 0; c < 4; c++) assert.ok(Math.abs(Math.exp(row[c]! - max) / z - probabilities[r * 4 + c]!) < 1e-4, `${runtime}: image ${r}, class ${c}`);
    }
    outputs.push(probabilities);
  }
  for (let i = 0; i < outputs[0]!.length; i++) assert.ok(Math.abs(outputs[0]![i]! - outputs[1]![i]!) < 1e-4, `node and web differ at ${i}`);
});

test('an export with other method settings regularises the same statistics with them, and refuses invalid ones', async () => {
  await gaussAndProto();
  const checkpoint = loadCheckpoint(phaseFile(2));
  const settings = { priorStrength: 100, shrinkage: 1 };
  const exported = exportModel(checkpoint, { methodConfig: settings });
  assert.deepEqual(exported.info.readout, { kind: 'mahalanobis', ...settings });
  const stats = loadCilCheckpoint(phaseFile(2)).state.statistics!;
  const moments = storedMoments(stats, stats.means.length / stats.counts.length);
  const expected = mahalanobisParameters(moments, stats.pooled, settings).precisions;
  const got = mahalanobisStatistics(exported.model).precisions;
  const ownSettings = mahalanobisStatistics(exportModel(checkpoint).model).precisions;
  let scale = 0;
  let diff = 0;
  let moved = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    diff = Math.max(diff, Math.abs(got[i]! - expected[i]!));
    moved = Math.max(moved, Math.abs(ownSettings[i]! - expected[i]!));
  }
  assert.ok(diff <= 1e-5 * scale, `precisions differ by ${diff} (scale ${scale})`);
  assert.ok(moved > 1e-2 * scale, "the run's own settings give other precisions");
  assert.throws(() => exportModel(checkpoint, { methodConfig: { shrinkage: -1 } }), /invalid gauss config/);
});

test('classes added in the app to the exported phase 1 match what phase 2 learned from the same images', async () => {
  await gaussAndProto();
  const { train, test: testSet } = await loadProtocolData(protocol.data, data);
  const clf = await loadClassifier(exportModel(loadCheckpoint(phaseFile(1))).bytes, { threads: 1 });
  try {
    await clf.addClasses([{ label: 'c3', images: Array.from(indicesOfClasses(train, [3]), (i) => image(train, i)) }]);
    const app = mahalanobisStatistics(decodeModel(clf.toBytes()));
    const learned = exportModel(loadCheckpoint(phaseFile(2)));
    const run = mahalanobisStatistics(learned.model);
    const d = app.dim;
    let meanDiff = 0;
    for (let i = 0; i < app.means.length; i++) meanDiff = Math.max(meanDiff, Math.abs(app.means[i]! - run.means[i]!));
    assert.ok(meanDiff < 1e-5, `class means differ by ${meanDiff}`);
    let scale = 0;
    let precisionDiff = 0;
    for (let i = 3 * d * d; i < app.precisions.length; i++) {
      scale = Math.max(scale, Math.abs(run.precisions[i]!));
      precisionDiff = Math.max(precisionDiff, Math.abs(app.precisions[i]! - run.precisions[i]!));
    }
    assert.ok(precisionDiff < 1e-3 * scale, `the new class's precision differs by ${precisionDiff} (largest entry ${scale})`);
    const images = Array.from(indicesOfClasses(testSet, [0, 1, 2, 3]), (i) => image(testSet, i));
    const fromRun = await loadClassifier(learned.bytes, { threads: 1 });
    assert.deepEqual(argmax((await clf.infer(images)).probabilities, 4), argmax((await fromRun.infer(images)).probabilities, 4));
    await fromRun.dispose();
  } finally {
    await clf.dispose();
  }
});

test("increment on a gauss checkpoint adds the new classes' statistics without training, as a phase of the run does", async () => {
  await gaussAndProto();
  const folder = join(root, 'new-class');
  await writeImageFolder(folder, ['c3'], 16, { offset: 3 });
  const out = join(root, 'increment', 'phase-2.onnx');
  let steps = 0;
  const result = await incrementModel({ from: phaseFile(1), data: folder, out, threads: 1, workers: 0 }, { onStep: () => void steps++ });
  assert.equal(steps, 0, 'gauss trains nothing after phase 0');
  assert.equal(result.trainImages, 0);
  assert.deepEqual(result.classNames, CLASSES);
  const added = loadCilCheckpoint(out);
  const ran = loadCilCheckpoint(phaseFile(2));
  assert.equal(added.meta.method, 'gauss');
  assert.deepEqual(added.meta.methodConfig, ran.meta.methodConfig);
  for (const field of ['counts', 'means', 'covariances', 'pooled'] as const) {
    const a = added.state.statistics![field];
    const b = ran.state.statistics![field];
    assert.equal(a.length, b.length, field);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `${field}[${i}]: ${a[i]} vs ${b[i]}`);
  }
  for (const [name, w] of loadCilCheckpoint(phaseFile(1)).state.weights) {
    if (name !== 'fc.weight') assert.deepEqual(added.state.weights.get(name), w, `${name} is unchanged`);
  }
});

test("gauss with rotation heads shares SPB-M's phase 0 and reads out, and exports, from the unrotated images' features", async () => {
  await gaussAndProto();
  assert.equal(phaseZeroIdentity('gauss', { rotations: 4 }), phaseZeroIdentity('spb-m', {}));
  assert.equal(phaseZeroIdentity('gauss', {}), phaseZeroIdentity('spb', {}));
  assert.notEqual(phaseZeroIdentity('gauss', { rotations: 2 }), phaseZeroIdentity('spb-m', {}));
  const spbM = await runProtocol({ ...common, method: 'spb-m', outDir: join(root, 'spb-m') });
  const rotated = await runProtocol({
    ...common,
    method: 'gauss',
    methodConfig: { ...CONFIG, rotations: 4 },
    outDir: join(root, 'gauss-rot'),
    baseFrom: join(root, 'spb-m'),
  });
  await assert.rejects(
    runProtocol({ ...common, method: 'gauss', methodConfig: { rotations: 4 }, outDir: join(root, 'gauss-rot-refused'), baseFrom: join(root, 'proto') }),
    /--base-from .* its phase 0 was trained by proto .* gauss trains phase 0 differently/,
  );
  const g0 = loadCilCheckpoint(join(root, 'gauss-rot', 'phase-0.onnx')).state;
  assert.deepEqual(g0.weights, loadCilCheckpoint(join(root, 'spb-m', 'phase-0.onnx')).state.weights, "SPB-M's phase 0, rotation heads included");
  assert.equal(rotated.phases[0]!.readouts!['classifier'], spbM.phases[0]!.accuracy, "its classifier readout is SPB-M's ensemble");
  // Its statistics are those of the unrotated images: the exported model (one backbone pass on the image, then the
  // Mahalanobis readout) scores on the test images exactly what the run reported.
  const { test: testSet } = await loadProtocolData(protocol.data, data);
  for (const phase of [0, 2]) {
    const clf = await loadClassifier(exportModel(loadCheckpoint(join(root, 'gauss-rot', `phase-${phase}.onnx`))).bytes, { threads: 1 });
    const seen = Array.from(indicesOfClasses(testSet, [0, 1, 2, 3].slice(0, phase + 2)));
    const images = seen.map((i) => image(testSet, i));
    const labels = seen.map((i) => testSet.labels[i]!);
    const predicted = argmax((await clf.infer(images)).probabilities, phase + 2);
    await clf.dispose();
    assert.equal(predicted.filter((c, r) => c === labels[r]).length / labels.length, rotated.phases[phase]!.accuracy, `phase ${phase}`);
  }
});
