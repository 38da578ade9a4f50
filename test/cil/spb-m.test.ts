/**
 * SPB-M (one cosine classifier per image rotation): its policy, the gradients of its loss, and one tiny protocol run
 * checked from every side: readouts, per-rotation prototypes, the exported ensemble against the learner's readout,
 * the single-head export, and class addition in the app.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadClassifier } from '../../src/app/node.js';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import { loadProtocolData } from '../../src/cil/data.js';
import { IncrementalLearner, phaseSeed, type PhaseData } from '../../src/cil/learner.js';
import type { LossPiece } from '../../src/cil/losses.js';
import { resolveMethod } from '../../src/cil/methods/index.js';
import { classPrototypes } from '../../src/cil/prototypes.js';
import { runProtocol, type RunResult } from '../../src/cil/run.js';
import { rotationEnsembleVariant } from '../../src/cil/methods/spb-m.js';
import { singleHeadVariant } from '../../src/cil/variants.js';
import { buildLabelMap } from '../../src/data/batches.js';
import { indicesOfClasses, type ImageDataset } from '../../src/data/dataset.js';
import { exportModel } from '../../src/export/export-model.js';
import { decodeModel } from '../../src/graph/onnx-proto.js';
import { getModelSpec } from '../../src/nn/models.js';
import { createBackend } from '../../src/runtime/backend.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { predict, type Predictions } from '../../src/train/evaluate.js';
import { EvalSession } from '../../src/train/session.js';
import { buildEvalGraph } from '../../src/train/training-graph.js';
import { checkVariantLoss, fileTemporaryFolder, rotatedDataset, TINY_INPUT, tinyProtocol, tinySetup, writeImageFolder } from './helpers.js';

const CLASSES = ['c0', 'c1', 'c2', 'c3'];
const INPUT = TINY_INPUT;
const FEATURES = 128;

test('the SPB-M policy trains L_mp (alone in phase 0) and L_em with four rotation heads', () => {
  const weights = (pieces: LossPiece[]) => Object.fromEntries(pieces.map((p) => [p.name, p.weight]));
  const spbm = resolveMethod('spb-m').policy;
  assert.deepEqual(weights(spbm.laterPhaseLoss(6, 2)), { mp: 2 / 6, em: 3 });
  assert.deepEqual(weights(spbm.basePhaseLoss!()), { mp: 1 });
  assert.deepEqual(
    spbm.model!.heads.map((h) => [h.prefix, h.rotation]),
    [
      ['fc', 0],
      ['fc_rot1', 1],
      ['fc_rot2', 2],
      ['fc_rot3', 3],
    ],
  );
  assert.throws(() => resolveMethod('spb-m', { rotations: 5 }), /invalid spb-m config/);
});

test('SPB-M loss gradients (4 rotation heads, L_mp + L_em on every rotated copy, frozen BN) match finite differences', async () => {
  const { policy } = resolveMethod('spb-m');
  const report = await checkVariantLoss({
    variant: policy.model!,
    pieces: policy.laterPhaseLoss(2, 1),
    x: [2, 2, 4, 4],
    labels: [2n, 0n],
    classes: 3,
    bnMode: 'frozen',
    expectParts: ['mp', 'em'],
  });
  for (const head of ['fc', 'fc_rot1', 'fc_rot2', 'fc_rot3']) {
    assert.ok(
      report.results.some((r) => r.input === `${head}.weight` && Math.abs(r.analytic) > 1e-5),
      `${head} receives a gradient`,
    );
  }
});

// One SPB-M run (2 base classes, then c2) on a tiny image folder, shared by the tests below.
const root = fileTemporaryFolder();
const protocol = tinyProtocol(1, 3);
let spbMRun: Promise<RunResult> | undefined;
function runSpbM(): Promise<RunResult> {
  spbMRun ??= (async () => {
    await writeImageFolder(join(root, 'data', 'train'), CLASSES, 16);
    await writeImageFolder(join(root, 'data', 'val'), CLASSES, 4);
    return runProtocol({
      protocol,
      preset: 'tiny',
      method: 'spb-m',
      dataPath: join(root, 'data'),
      outDir: join(root, 'run'),
      threads: 1,
      workers: 0,
      epochsScale: 0.5,
    });
  })();
  return spbMRun;
}

test('an SPB-M run reports both readouts in every phase, and SPB does not take over its phase 0', async () => {
  const result = await runSpbM();
  assert.equal(result.method, 'spb-m');
  for (const p of result.phases) {
    assert.deepEqual(Object.keys(p.readouts!).sort(), ['ensemble', 'single']);
    assert.equal(p.accuracy, p.readouts!['ensemble']);
  }
  assert.deepEqual(Object.keys(result.averageIncrementalReadouts!).sort(), ['ensemble', 'single']);
  await assert.rejects(
    runProtocol({
      protocol,
      preset: 'tiny',
      method: 'spb',
      dataPath: join(root, 'data'),
      outDir: join(root, 'spb'),
      threads: 1,
      workers: 0,
      epochsScale: 0.5,
      baseFrom: join(root, 'run'),
    }),
    /trains phase 0 differently/,
  );
});

test("SPB-M expands each rotation head with the prototypes of the images rotated by that head's angle", async () => {
  await runSpbM();
  // From phase 0's state, expanding for class c2 gives head r the normalised class mean of the features of the
  // images rotated by r (here rotated in plain code and read by a single-head model).
  const phase0 = loadCilCheckpoint(join(root, 'run', 'phase-0.onnx'));
  const { train } = await loadProtocolData(protocol.data, join(root, 'data'));
  const setup = tinySetup(protocol.seed);
  const learner = new IncrementalLearner(resolveMethod('spb-m').policy, setup, { ...phase0.state, weights: new Map(phase0.state.weights) });
  const data: PhaseData = {
    phase: 1,
    train,
    labelMap: buildLabelMap([0, 1, 2], CLASSES.length),
    newIndices: indicesOfClasses(train, [2]),
    oldClasses: 2,
    newClasses: 1,
    schedule: protocol.schedules.incremental,
    epochsScale: 1,
    augment: protocol.augmentation,
    bnMode: 'frozen',
    seed: phaseSeed(protocol.seed, 1),
  };
  await learner.beforePhase(data);
  const graph = buildEvalGraph({
    name: 'features',
    batchSize: 16,
    inputShape: INPUT,
    forward: ({ params, x }) => singleHeadVariant.evalForward(setup.spec, params, x, 2),
  });
  const evaluator = await EvalSession.create(graph, 16, INPUT, { threads: 1 });
  try {
    for (let r = 0; r < 4; r++) {
      const prefix = r === 0 ? 'fc' : `fc_rot${r}`;
      const before = phase0.state.weights.get(`${prefix}.weight`)!;
      const after = learner.state.weights.get(`${prefix}.weight`)!;
      assert.deepEqual(after.subarray(0, before.length), before, `${prefix}: old rows unchanged`);
      const p = await predict(evaluator, rotatedDataset(train, r), phase0.state.weights, { labelMap: data.labelMap, indices: data.newIndices });
      const expected = classPrototypes(p.outputs['features']!, p.targets, FEATURES, [2]);
      const got = after.subarray(before.length);
      for (let i = 0; i < FEATURES; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-5, `${prefix} row value ${i}: ${got[i]} vs ${expected[i]}`);
    }
  } finally {
    await evaluator.release();
  }
});

/** The test images of the seen classes c0..c2 of the shared run, and the final learner's readouts of them. */
async function finalReadouts(): Promise<{ testSet: ImageDataset; indices: Int32Array; learnerOut: Predictions }> {
  await runSpbM();
  const { test: testSet } = await loadProtocolData(protocol.data, join(root, 'data'));
  const final = loadCilCheckpoint(join(root, 'run', 'phase-1.onnx'));
  const variant = rotationEnsembleVariant(4, 'ensemble');
  const readoutGraph = buildEvalGraph({
    name: 'readout',
    batchSize: 12,
    inputShape: INPUT,
    forward: ({ params, x }) => variant.evalForward(getModelSpec('convnet'), params, x, 3),
  });
  const reader = await EvalSession.create(readoutGraph, 12, INPUT, { threads: 1 });
  const indices = indicesOfClasses(testSet, [0, 1, 2]);
  try {
    return {
      testSet,
      indices,
      learnerOut: await predict(reader, testSet, final.state.weights, { labelMap: buildLabelMap([0, 1, 2], CLASSES.length), indices }),
    };
  } finally {
    await reader.release();
  }
}

/** Runs an exported model on the normalised test images: its probabilities, features and output shape. */
async function runExported(bytes: Uint8Array, testSet: ImageDataset, indices: ArrayLike<number>) {
  const [c, h, w] = INPUT;
  const x = new Float32Array(indices.length * c * h * w);
  Array.from(indices).forEach((idx, i) => {
    for (let j = 0; j < c * h * w; j++) x[i * c * h * w + j] = (testSet.images[idx * c * h * w + j]! / 255 - testSet.mean[0]!) / testSet.std[0]!;
  });
  const { ort, session } = await createBackend(bytes, { threads: 1 });
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, [indices.length, c, h, w]) });
    return { probabilities: out['probabilities']!.data as Float32Array, features: out['features']!.data as Float32Array, dims: out['probabilities']!.dims };
  } finally {
    await session.release();
  }
}

test("the exported SPB-M ensemble (one batch in, mean probabilities out) equals the learner's ensemble readout", async () => {
  const { testSet, indices, learnerOut } = await finalReadouts();
  const exported = exportModel(loadCheckpoint(join(root, 'run', 'phase-1.onnx')));
  const ens = await runExported(exported.bytes, testSet, indices);
  assert.deepEqual(ens.dims, [indices.length, 3]);
  const readout = learnerOut.outputs['readout_ensemble']!;
  let maxDiff = 0;
  for (let i = 0; i < readout.length; i++) maxDiff = Math.max(maxDiff, Math.abs(readout[i]! - ens.probabilities[i]!));
  assert.ok(maxDiff < 1e-4, `ensemble probabilities differ by ${maxDiff}`);
  // `features` is the unrotated copy's normalised feature.
  const f = learnerOut.outputs['features']!;
  for (let r = 0; r < indices.length; r++) {
    const row = f.subarray(r * FEATURES, (r + 1) * FEATURES);
    const norm = Math.hypot(...row);
    for (let j = 0; j < FEATURES; j++) assert.ok(Math.abs(row[j]! / norm - ens.features[r * FEATURES + j]!) < 1e-4);
  }
  assert.ok(exported.model.graph.initializer.some((i) => i.name === 'classifier.weight.rot3'));
});

test('an SPB-M model exported with singleHead holds head 0 alone: the softmax of the single readout', async () => {
  const { testSet, indices, learnerOut } = await finalReadouts();
  const single = exportModel(loadCheckpoint(join(root, 'run', 'phase-1.onnx')), { singleHead: true });
  const one = await runExported(single.bytes, testSet, indices);
  const logits = learnerOut.outputs['readout_single']!;
  for (let r = 0; r < indices.length; r++) {
    const row = logits.subarray(r * 3, r * 3 + 3);
    const m = Math.max(...row);
    const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(Math.exp(row[k]! - m) / z - one.probabilities[r * 3 + k]!) < 1e-4);
  }
  assert.ok(!single.model.graph.initializer.some((i) => i.name === 'classifier.weight.rot1'));
});

test('the app opens an exported SPB-M ensemble and adds a class to every head', async () => {
  await runSpbM();
  const { test: testSet } = await loadProtocolData(protocol.data, join(root, 'data'));
  const exported = exportModel(loadCheckpoint(join(root, 'run', 'phase-1.onnx')));
  // One input, probabilities + features.
  const clf = await loadClassifier(exported.bytes, { threads: 1 });
  try {
    const image = (idx: number) => ({ data: testSet.images.slice(idx * 64, idx * 64 + 64), shape: [8, 8] });
    const top = await clf.classify(image(indicesOfClasses(testSet, [0, 1, 2])[0]!), { topK: 3 });
    assert.ok(Math.abs(top.reduce((a, p) => a + p.probability, 0) - 1) < 1e-4);
    const c3 = indicesOfClasses(testSet, [3]);
    await clf.addClasses([{ label: 'c3', images: Array.from(c3, (i) => image(i)) }]);
    assert.deepEqual(clf.classNames, ['c0', 'c1', 'c2', 'c3']);
    const { probabilities } = await clf.infer([image(c3[0]!)]);
    assert.equal(probabilities.length, 4);
    const rows = decodeModel(clf.toBytes())
      .graph.initializer.filter((i) => i.name?.startsWith('classifier.weight'))
      .map((i) => [i.name, Number(i.dims![0])]);
    assert.deepEqual(rows.sort(), [
      ['classifier.weight', 4],
      ['classifier.weight.rot1', 4],
      ['classifier.weight.rot2', 4],
      ['classifier.weight.rot3', 4],
    ]);
  } finally {
    await clf.dispose();
  }
});
