/**
 * SPB-M (rotation heads) and SPB-I (self-supervised head): in-graph rotations and views against reference code,
 * gradients of the new loss parts against finite differences, head combination, per-rotation prototypes, and the
 * exported rotation ensemble against the learner's readout (and the app on top of it).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import { loadProtocolData } from '../../src/cil/data.js';
import { IncrementalLearner, phaseSeed, type PhaseData } from '../../src/cil/learner.js';
import { combineLosses, type LossPiece } from '../../src/cil/losses.js';
import { resolveMethod } from '../../src/cil/methods/index.js';
import { classPrototypes } from '../../src/cil/prototypes.js';
import { phaseZeroIdentity, runProtocol } from '../../src/cil/run.js';
import { combineHeads, rotationEnsembleVariant, selfSupervisedVariant, singleHeadVariant, type ModelVariant } from '../../src/cil/variants.js';
import { checkGradients } from '../../src/autodiff/gradcheck.js';
import { loadClassifier } from '../../src/app/node.js';
import { rotatePixels } from '../../src/app/image.js';
import { buildLabelMap } from '../../src/data/batches.js';
import { indicesOfClasses, type ImageDataset } from '../../src/data/dataset.js';
import { exportModel } from '../../src/export/export-model.js';
import { GraphBuilder, type Value } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { contrastiveLoss } from '../../src/nn/functional.js';
import { buildBackbone, getModelSpec, ModelSpecSchema } from '../../src/nn/models.js';
import { ConstantParams, InputParams, type BatchNormMode, type StateDict } from '../../src/nn/params.js';
import { copyOf, fourRotations, rotateByQuarters, rotateQuarter } from '../../src/nn/rotations.js';
import { shiftImage } from '../../src/nn/views.js';
import { createBackend } from '../../src/runtime/backend.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { predict } from '../../src/train/evaluate.js';
import { EvalSession } from '../../src/train/session.js';
import { buildEvalGraph } from '../../src/train/training-graph.js';
import { GivenParams, temporaryFolder, tinyProtocol, writeImageFolder } from './helpers.js';

const seeded = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k * 0.9) * 0.8);

/** numpy.rot90(m, k) of one [H, W] plane: k = 1 gives out[i][j] = in[j][W-1-i]. */
function referenceRotation(plane: Float32Array, h: number, w: number, k: number): { data: Float32Array; h: number; w: number } {
  let cur = { data: plane, h, w };
  for (let t = 0; t < ((k % 4) + 4) % 4; t++) {
    const out = new Float32Array(cur.data.length);
    for (let i = 0; i < cur.w; i++) for (let j = 0; j < cur.h; j++) out[i * cur.h + j] = cur.data[j * cur.w + (cur.w - 1 - i)]!;
    cur = { data: out, h: cur.w, w: cur.h };
  }
  return cur;
}

/** Each [H, W] plane of an NCHW block rotated by k with the reference. */
function referenceRotateBatch(x: Float32Array, n: number, c: number, h: number, k: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let p = 0; p < n * c; p++) out.set(referenceRotation(x.subarray(p * h * h, (p + 1) * h * h), h, h, k).data, p * h * h);
  return out;
}

async function runGraph(g: GraphBuilder, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const { ort, session } = await createBackend(encodeModel(g.toModel()), { threads: 1 });
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { data: v.data as Float32Array, dims: v.dims }]));
  } finally {
    await session.release();
  }
}

test('in-graph rotations equal numpy.rot90 for k = 0..3, also stacked, by quarters, split back with a dynamic batch, and in the app', async () => {
  const [n, c, h] = [2, 3, 5];
  const x = seeded(n * c * h * h, 1);
  const g = new GraphBuilder('rotations');
  const xi = g.input('x', 'float32', [n, c, h, h]);
  for (let k = 0; k < 4; k++) g.output(rotateQuarter(xi, k), `r${k}`);
  g.output(fourRotations(xi), 'all');
  const q = rotateByQuarters(g.input('q', 'float32', [8, 1, h, h]));
  g.output(q.rotated, 'quarters');
  // A dynamic batch: the stacked rotations split back into copies.
  const dyn = g.input('dyn', 'float32', [-1, c, h, h]);
  g.output(copyOf(fourRotations(dyn), 3, 4), 'copy3');
  g.output(shiftImage(xi, 2, -1), 'shifted');
  const qx = seeded(8 * h * h, 2);
  const out = await runGraph(g, { x: { data: x, dims: [n, c, h, h] }, q: { data: qx, dims: [8, 1, h, h] }, dyn: { data: x, dims: [n, c, h, h] } });
  for (let k = 0; k < 4; k++) {
    assert.deepEqual(Array.from(out[`r${k}`]!.data), Array.from(referenceRotateBatch(x, n, c, h, k)), `rotation ${k}`);
    assert.deepEqual(Array.from(out['all']!.data.subarray(k * x.length, (k + 1) * x.length)), Array.from(referenceRotateBatch(x, n, c, h, k)));
  }
  assert.deepEqual(Array.from(out['copy3']!.data), Array.from(referenceRotateBatch(x, n, c, h, 3)));
  assert.deepEqual(q.labels, [0, 0, 1, 1, 2, 2, 3, 3]);
  const plane = h * h;
  for (let i = 0; i < 8; i++) {
    const expected = referenceRotation(qx.subarray(i * plane, (i + 1) * plane), h, h, q.labels[i]!).data;
    assert.deepEqual(Array.from(out['quarters']!.data.subarray(i * plane, (i + 1) * plane)), Array.from(expected), `row ${i}`);
  }
  // Shift by (2, -1): out[y][x] = in[y-2][x+1], zero outside.
  const shifted = out['shifted']!.data;
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < h; xx++) {
      const sy = y - 2;
      const sx = xx + 1;
      const want = sy >= 0 && sy < h && sx < h ? x[sy * h + sx]! : 0;
      assert.equal(shifted[y * h + xx], want);
    }
  }
  // The app rotates HWC pixels the same way (one channel: HWC = CHW).
  const pix = { data: x.subarray(0, plane), width: h, height: h, channels: 1 as const };
  for (let k = 0; k < 4; k++) assert.deepEqual(Array.from(rotatePixels(pix, k).data), Array.from(referenceRotation(x.subarray(0, plane), h, h, k).data));
});

test('head combination is the mean of the heads\' softmax probabilities', async () => {
  const g = new GraphBuilder('combine');
  const logits = [0, 1, 2].map((i) => g.input(`l${i}`, 'float32', [2, 3]));
  g.output(combineHeads(logits), 'p');
  const data = [0, 1, 2].map((i) => seeded(6, i + 3).map((v) => v * 4));
  const out = await runGraph(g, Object.fromEntries(data.map((d, i) => [`l${i}`, { data: d, dims: [2, 3] }])));
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < 3; c++) {
      let want = 0;
      for (const d of data) {
        const row = d.subarray(r * 3, r * 3 + 3);
        const m = Math.max(...row);
        want += Math.exp(row[c]! - m) / row.reduce((a, v) => a + Math.exp(v - m), 0) / 3;
      }
      assert.ok(Math.abs(out['p']!.data[r * 3 + c]! - want) < 1e-6);
    }
  }
});

test('method policies: SPB-M trains L_mp (alone in phase 0), SPB-I adds L_in to the CE term; phase 0 is shared only where identical', () => {
  const weights = (pieces: LossPiece[]) => Object.fromEntries(pieces.map((p) => [p.name, p.weight]));
  const spbm = resolveMethod('spb-m').policy;
  assert.deepEqual(weights(spbm.laterPhaseLoss(6, 2)), { mp: 2 / 6, em: 3 });
  assert.deepEqual(weights(spbm.basePhaseLoss!()), { mp: 1 });
  assert.deepEqual(spbm.model!.heads.map((h) => [h.prefix, h.rotation]), [['fc', 0], ['fc_rot1', 1], ['fc_rot2', 2], ['fc_rot3', 3]]);
  const spbi = resolveMethod('spb-i', { selfSupervisedWeight: 0.5 }).policy;
  assert.deepEqual(weights(spbi.laterPhaseLoss(6, 2)), { ce: 2 / 6, in: 1 / 6, em: 3 });
  assert.deepEqual(weights(spbi.basePhaseLoss!()), { ce: 1, in: 0.5 });
  assert.equal(resolveMethod('spb').policy.basePhaseLoss, undefined);
  assert.throws(() => resolveMethod('spb-i', { selfSupervised: 'jigsaw' }), /invalid spb-i config/);
  assert.throws(() => resolveMethod('spb-m', { rotations: 5 }), /invalid spb-m config/);
  assert.equal(phaseZeroIdentity('spb', {}), phaseZeroIdentity('ft', { classifierInit: 'prototype' }));
  assert.notEqual(phaseZeroIdentity('spb', {}), phaseZeroIdentity('spb-m', {}));
  assert.equal(phaseZeroIdentity('spb-m', { distillation: false, readout: 'ensemble', rotations: 4 }), phaseZeroIdentity('spb-m', { readout: 'ensemble', rotations: 4 }));
  assert.notEqual(phaseZeroIdentity('spb-i', { selfSupervised: 'rotation' }), phaseZeroIdentity('spb-i', { selfSupervised: 'contrastive' }));
});

/** A one-layer plain backbone (conv 2->3, BN, ReLU, global pool) for gradient checks. */
const TINY_SPEC = ModelSpecSchema.parse({ name: 'tiny', description: 'gradcheck', family: 'plain', layers: [{ out: 3, kernel: 3 }] });

/** Every parameter a variant declares (name, shape, trainable or buffer), from a dry build. */
function variantParams(variant: ModelVariant, inputShape: [number, number, number], classes: number) {
  const g = new GraphBuilder('dry');
  const p = new InputParams(g, 'eval');
  variant.stateForward(TINY_SPEC, p, g.input('x', 'float32', [1, ...inputShape]), classes);
  return [...p.infos.values()];
}

/** The gradient check of a variant's full later-phase (or phase-0) loss under a method's loss pieces. */
async function checkVariantLoss(opts: {
  variant: ModelVariant;
  pieces: LossPiece[];
  x: [number, number, number, number];
  labels: bigint[];
  classes: number;
  bnMode: BatchNormMode;
  expectParts: string[];
}) {
  const [, c, h, w] = opts.x;
  const infos = variantParams(opts.variant, [c, h, w], opts.classes);
  const teacher: StateDict = new Map(
    infos
      .filter((p) => p.name.startsWith('conv') || p.name.startsWith('bn'))
      .map((p, k) => [p.name, p.name.endsWith('running_var') ? seeded(p.shape[0]!, k).map((v) => 1 + Math.abs(v)) : seeded(p.shape.reduce((a, d) => a * d, 1), k + 10)]),
  );
  const inputs = [
    { name: 'x', shape: opts.x },
    { name: 'y', shape: [opts.x[0]], int64: BigInt64Array.from(opts.labels) },
    ...infos.map((p, k) => ({
      name: p.name,
      shape: p.shape,
      differentiable: p.kind === 'trainable',
      data: p.name.endsWith('running_var')
        ? seeded(p.shape[0]!, k).map((v) => 1 + Math.abs(v))
        : p.name.endsWith('.sigma')
          ? Float32Array.of(3)
          : undefined,
    })),
  ];
  let parts: string[] = [];
  const report = await checkGradients(
    inputs,
    ([x, y, ...params], g) => {
      const student = new GivenParams(g, opts.bnMode, new Map(infos.map((p, i) => [p.name, params[i]!])));
      const out = opts.variant.trainForward({
        graph: g,
        spec: TINY_SPEC,
        params: student,
        x: x!,
        y: y!,
        classes: opts.classes,
        teacherFeatures: (batch: Value) => buildBackbone(TINY_SPEC, new ConstantParams(g, 'eval', teacher, 'teacher.'), batch).features,
      });
      const combined = combineLosses(opts.pieces, { graph: g, targets: y!, ...out });
      parts = Object.keys(combined.parts);
      return combined.loss;
    },
    { directions: 1, coordinates: 2 },
  );
  assert.deepEqual(parts, opts.expectParts);
  assert.ok(report.ok, report.failures.join('\n'));
  return report;
}

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
    assert.ok(report.results.some((r) => r.input === `${head}.weight` && Math.abs(r.analytic) > 1e-5), `${head} receives a gradient`);
  }
});

test('SPB-I rotation-prediction loss gradients (2 BasicBlocks + cosine angle head, batch-statistics BN) match finite differences', async () => {
  const { policy } = resolveMethod('spb-i');
  const report = await checkVariantLoss({
    variant: policy.model!,
    pieces: policy.laterPhaseLoss(2, 1),
    x: [4, 2, 4, 4],
    labels: [2n, 0n, 1n, 2n],
    classes: 3,
    bnMode: 'train',
    expectParts: ['ce', 'in', 'em'],
  });
  assert.ok(report.results.some((r) => r.input === 'ssl.block2.conv2.weight' && Math.abs(r.analytic) > 1e-5));
  assert.ok(report.results.some((r) => r.input === 'ssl.fc.weight'));
});

test('SPB-I contrastive loss: value equals a reference SupCon, and its gradients (alone and through the projection MLP) match finite differences', async () => {
  const [views, n, k] = [4, 2, 5];
  const m = views * n;
  const z = seeded(m * k, 4);
  // Reference: -(1/M) sum_a 1/(V-1) sum_{p positive} log( exp(s_ap/T) / sum_{j != a} exp(s_aj/T) ).
  const unit = Array.from({ length: m }, (_, r) => {
    const row = z.subarray(r * k, (r + 1) * k);
    const norm = Math.hypot(...row);
    return Array.from(row, (v) => v / norm);
  });
  let want = 0;
  for (let a = 0; a < m; a++) {
    const s = unit.map((u) => u.reduce((acc, v, i) => acc + v * unit[a]![i]!, 0) / 0.1);
    const denom = s.reduce((acc, v, j) => (j === a ? acc : acc + Math.exp(v)), 0);
    for (let v = 0; v < views; v++) {
      const p = v * n + (a % n);
      if (p !== a) want -= (Math.log(Math.exp(s[p]!) / denom) / (views - 1)) / m;
    }
  }
  const g = new GraphBuilder('supcon');
  g.output(contrastiveLoss(g.input('z', 'float32', [m, k]), views, 0.1), 'loss');
  const got = (await runGraph(g, { z: { data: z, dims: [m, k] } }))['loss']!.data[0]!;
  assert.ok(Math.abs(got - want) < 1e-4 * Math.abs(want), `${got} vs ${want}`);

  const direct = await checkGradients([{ name: 'z', shape: [m, k], data: z }], ([zi]) => contrastiveLoss(zi!, views, 0.1), { directions: 3, coordinates: 3 });
  assert.ok(direct.ok, direct.failures.join('\n'));

  const { policy } = resolveMethod('spb-i', { selfSupervised: 'contrastive', projectionDim: 4 });
  await checkVariantLoss({
    variant: policy.model!,
    pieces: policy.basePhaseLoss!(),
    x: [2, 2, 5, 5],
    labels: [1n, 0n],
    classes: 2,
    bnMode: 'train',
    expectParts: ['ce', 'in'],
  });
});

const CLASSES = ['c0', 'c1', 'c2', 'c3'];

/** A dataset whose images are rotated by k quarter turns in plain code (square images). */
function rotatedDataset(ds: ImageDataset, k: number): ImageDataset {
  const plane = ds.height * ds.width;
  const images = new Uint8Array(ds.images.length);
  for (let p = 0; p < ds.count * ds.channels; p++) {
    const src = Float32Array.from(ds.images.subarray(p * plane, (p + 1) * plane));
    images.set(Uint8Array.from(referenceRotation(src, ds.height, ds.width, k).data), p * plane);
  }
  return { ...ds, images };
}

test('SPB-M end to end: per-rotation prototypes, both readouts reported, the exported ensemble equals the learner\'s readout, and the app adds classes to every head', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), CLASSES, 16);
  await writeImageFolder(join(root, 'data', 'val'), CLASSES, 4);
  const protocol = tinyProtocol(1, 3);
  const result = await runProtocol({ protocol, preset: 'tiny', method: 'spb-m', dataPath: join(root, 'data'), outDir: join(root, 'run'), threads: 1, workers: 0, epochsScale: 0.5 });
  assert.equal(result.method, 'spb-m');
  for (const p of result.phases) {
    assert.deepEqual(Object.keys(p.readouts!).sort(), ['ensemble', 'single']);
    assert.equal(p.accuracy, p.readouts!['ensemble']);
  }
  assert.deepEqual(Object.keys(result.averageIncrementalReadouts!).sort(), ['ensemble', 'single']);
  await assert.rejects(
    runProtocol({ protocol, preset: 'tiny', method: 'spb', dataPath: join(root, 'data'), outDir: join(root, 'spb'), threads: 1, workers: 0, epochsScale: 0.5, baseFrom: join(root, 'run') }),
    /trains phase 0 differently/,
  );

  // Prototypes per rotation: from phase 0's state, expanding for class c2 gives head r the normalised class mean
  // of the features of the images rotated by r (here rotated in plain code and read by a single-head model).
  const phase0 = loadCilCheckpoint(join(root, 'run', 'phase-0.onnx'));
  const { train, test: testSet } = await loadProtocolData(protocol.data, join(root, 'data'));
  const setup = { model: 'convnet', spec: getModelSpec('convnet'), inputShape: [1, 8, 8] as [number, number, number], backend: { threads: 1 }, evalBatchSize: 16, workers: 0, seed: protocol.seed };
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
  const graph = buildEvalGraph({ name: 'features', batchSize: 16, inputShape: [1, 8, 8], forward: ({ params, x }) => singleHeadVariant.evalForward(setup.spec, params, x, 2) });
  const evaluator = await EvalSession.create(graph, 16, [1, 8, 8], { threads: 1 });
  try {
    for (let r = 0; r < 4; r++) {
      const prefix = r === 0 ? 'fc' : `fc_rot${r}`;
      const before = phase0.state.weights.get(`${prefix}.weight`)!;
      const after = learner.state.weights.get(`${prefix}.weight`)!;
      assert.deepEqual(after.subarray(0, before.length), before, `${prefix}: old rows unchanged`);
      const p = await predict(evaluator, rotatedDataset(train, r), phase0.state.weights, { labelMap: data.labelMap, indices: data.newIndices });
      const expected = classPrototypes(p.outputs['features']!, p.targets, 128, [2]);
      const got = after.subarray(before.length);
      for (let i = 0; i < 128; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-5, `${prefix} row value ${i}: ${got[i]} vs ${expected[i]}`);
    }
  } finally {
    await evaluator.release();
  }

  // The exported ensemble (one batch in, mean probabilities out) equals the learner's ensemble readout.
  const checkpoint = loadCheckpoint(join(root, 'run', 'phase-1.onnx'));
  const final = loadCilCheckpoint(join(root, 'run', 'phase-1.onnx'));
  const exported = exportModel(checkpoint);
  const single = exportModel(checkpoint, { singleHead: true });
  const variant = rotationEnsembleVariant(4, 'ensemble');
  const readoutGraph = buildEvalGraph({ name: 'readout', batchSize: 12, inputShape: [1, 8, 8], forward: ({ params, x }) => variant.evalForward(setup.spec, params, x, 3) });
  const reader = await EvalSession.create(readoutGraph, 12, [1, 8, 8], { threads: 1 });
  const indices = indicesOfClasses(testSet, [0, 1, 2]);
  const labelMap = buildLabelMap([0, 1, 2], CLASSES.length);
  let learnerOut;
  try {
    learnerOut = await predict(reader, testSet, final.state.weights, { labelMap, indices });
  } finally {
    await reader.release();
  }
  const [c, h, w] = [1, 8, 8];
  const x = new Float32Array(indices.length * c * h * w);
  indices.forEach((idx, i) => {
    for (let j = 0; j < c * h * w; j++) x[i * c * h * w + j] = (testSet.images[idx * c * h * w + j]! / 255 - testSet.mean[0]!) / testSet.std[0]!;
  });
  const run = async (bytes: Uint8Array) => {
    const { ort, session } = await createBackend(bytes, { threads: 1 });
    try {
      const out = await session.run({ input: new ort.Tensor('float32', x, [indices.length, c, h, w]) });
      return { probabilities: out['probabilities']!.data as Float32Array, features: out['features']!.data as Float32Array, dims: out['probabilities']!.dims };
    } finally {
      await session.release();
    }
  };
  const ens = await run(exported.bytes);
  assert.deepEqual(ens.dims, [indices.length, 3]);
  const readout = learnerOut.outputs['readout_ensemble']!;
  let maxDiff = 0;
  for (let i = 0; i < readout.length; i++) maxDiff = Math.max(maxDiff, Math.abs(readout[i]! - ens.probabilities[i]!));
  assert.ok(maxDiff < 1e-4, `ensemble probabilities differ by ${maxDiff}`);
  // `features` is the unrotated copy's normalised feature.
  const f = learnerOut.outputs['features']!;
  for (let r = 0; r < indices.length; r++) {
    const row = f.subarray(r * 128, (r + 1) * 128);
    const norm = Math.hypot(...row);
    for (let j = 0; j < 128; j++) assert.ok(Math.abs(row[j]! / norm - ens.features[r * 128 + j]!) < 1e-4);
  }
  // --single-head exports head 0 alone: softmax of the single readout.
  const one = await run(single.bytes);
  const logits = learnerOut.outputs['readout_single']!;
  for (let r = 0; r < indices.length; r++) {
    const row = logits.subarray(r * 3, r * 3 + 3);
    const m = Math.max(...row);
    const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(Math.exp(row[k]! - m) / z - one.probabilities[r * 3 + k]!) < 1e-4);
  }
  assert.ok(exported.model.graph.initializer.some((i) => i.name === 'classifier.weight.rot3'));
  assert.ok(!single.model.graph.initializer.some((i) => i.name === 'classifier.weight.rot1'));

  // The app opens the ensemble (one input, probabilities + features) and adds a class to every head.
  const clf = await loadClassifier(exported.bytes, { threads: 1 });
  try {
    const image = (idx: number) => ({ data: testSet.images.slice(idx * 64, idx * 64 + 64), shape: [8, 8] });
    const top = await clf.classify(image(indices[0]!), { topK: 3 });
    assert.ok(Math.abs(top.reduce((a, p) => a + p.probability, 0) - 1) < 1e-4);
    const c3 = indicesOfClasses(testSet, [3]);
    await clf.addClasses([{ label: 'c3', images: Array.from(c3, (i) => image(i)) }]);
    assert.deepEqual(clf.classNames, ['c0', 'c1', 'c2', 'c3']);
    const { probabilities } = await clf.infer([image(c3[0]!)]);
    assert.equal(probabilities.length, 4);
    const bytes = clf.toBytes();
    const { decodeModel } = await import('../../src/graph/onnx-proto.js');
    const rows = decodeModel(bytes).graph.initializer.filter((i) => i.name?.startsWith('classifier.weight')).map((i) => [i.name, Number(i.dims![0])]);
    assert.deepEqual(rows.sort(), [['classifier.weight', 4], ['classifier.weight.rot1', 4], ['classifier.weight.rot2', 4], ['classifier.weight.rot3', 4]]);
  } finally {
    await clf.dispose();
  }
});

test('SPB-I runs a tiny protocol with its rotation head kept (and trained) across phases, and resumes after a kill to the same result', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), CLASSES, 16);
  await writeImageFolder(join(root, 'data', 'val'), CLASSES, 4);
  const base = { protocol: tinyProtocol(1, 3), preset: 'tiny', method: 'spb-i', dataPath: join(root, 'data'), threads: 1, workers: 0 };
  const result = await runProtocol({ ...base, outDir: join(root, 'run') });
  assert.equal(result.phases.length, 2);
  await assert.rejects(
    runProtocol({ ...base, outDir: join(root, 'killed') }, { onEpoch: (e) => { if (e.phase === 1 && e.epoch === 0) throw new Error('simulated kill'); } }),
    /simulated kill/,
  );
  const resumed = await runProtocol({ ...base, outDir: join(root, 'killed'), resume: true });
  assert.deepEqual(resumed.phases.map((p) => [p.accuracy, p.ncmAccuracy]), result.phases.map((p) => [p.accuracy, p.ncmAccuracy]));
  const a = loadCilCheckpoint(join(root, 'run', 'phase-1.onnx')).state.weights;
  const b = loadCilCheckpoint(join(root, 'killed', 'phase-1.onnx')).state.weights;
  for (const [name, w] of a) assert.deepEqual(b.get(name), w, `${name} differs after resume`);
  const w0 = loadCilCheckpoint(join(root, 'run', 'phase-0.onnx')).state;
  const w1 = loadCilCheckpoint(join(root, 'run', 'phase-1.onnx')).state;
  const head = 'ssl.block1.conv1.weight';
  assert.ok(w0.weights.has(head) && w1.weights.has(head));
  assert.notDeepEqual(w1.weights.get(head), w0.weights.get(head), 'the rotation head trains in later phases too');
  // The frozen extractor holds the backbone only.
  assert.ok(w1.teacher && ![...w1.teacher.keys()].some((k) => k.startsWith('ssl.') || k.startsWith('fc')));
  assert.deepEqual(exportModel(loadCheckpoint(join(root, 'run', 'phase-1.onnx'))).info.method, 'spb-i');
});

test('a self-supervised variant with the every-angle rotation task builds its copies from all four rotations', () => {
  const variant = selfSupervisedVariant({ kind: 'rotation', angles: 'every' });
  const g = new GraphBuilder('every');
  const params = new InputParams(g, 'train');
  const out = variant.trainForward({
    graph: g,
    spec: TINY_SPEC,
    params,
    x: g.input('x', 'float32', [2, 2, 4, 4]),
    y: g.input('y', 'int64', [2]),
    classes: 3,
    teacherFeatures: () => {
      throw new Error('no teacher');
    },
  });
  assert.deepEqual(out.logits.shape, [2, 3]);
  assert.deepEqual(out.features.shape, [2, 3]);
  assert.deepEqual(out.selfSupervised!().shape, []);
  assert.ok(params.infos.has('ssl.fc.weight'));
});
