/**
 * SPB-I (an instance-level self-supervised loss beside the classifier): its policy, the gradients of the
 * rotation-prediction and contrastive losses, the contrastive loss against a reference, and a tiny protocol run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkGradients } from '../../src/autodiff/gradcheck.js';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import type { LossPiece } from '../../src/cil/losses.js';
import { resolveMethod } from '../../src/cil/methods/index.js';
import { selfSupervisedVariant } from '../../src/cil/methods/spb-i.js';
import { runProtocol } from '../../src/cil/run.js';
import { exportModel } from '../../src/export/export-model.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { contrastiveLoss } from '../../src/nn/functional.js';
import { InputParams } from '../../src/nn/params.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { checkVariantLoss, runGraph, seeded, temporaryFolder, TINY_SPEC, tinyProtocol, writeImageFolder } from './helpers.js';

const CLASSES = ['c0', 'c1', 'c2', 'c3'];

test('the SPB-I policy adds the weighted L_in to the CE term, in phase 0 too', () => {
  const weights = (pieces: LossPiece[]) => Object.fromEntries(pieces.map((p) => [p.name, p.weight]));
  const spbi = resolveMethod('spb-i', { selfSupervisedWeight: 0.5 }).policy;
  assert.deepEqual(weights(spbi.laterPhaseLoss(6, 2)), { ce: 2 / 6, in: 1 / 6, em: 3 });
  assert.deepEqual(weights(spbi.basePhaseLoss!()), { ce: 1, in: 0.5 });
  assert.throws(() => resolveMethod('spb-i', { selfSupervised: 'jigsaw' }), /invalid spb-i config/);
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

const [views, n, k] = [4, 2, 5];
const m = views * n;
const z = seeded(m * k, 4);

test('the contrastive loss equals a reference SupCon', async () => {
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
      if (p !== a) want -= Math.log(Math.exp(s[p]!) / denom) / (views - 1) / m;
    }
  }
  const g = new GraphBuilder('supcon');
  g.output(contrastiveLoss(g.input('z', 'float32', [m, k]), views, 0.1), 'loss');
  const got = (await runGraph(g, { z: { data: z, dims: [m, k] } }))['loss']!.data[0]!;
  assert.ok(Math.abs(got - want) < 1e-4 * Math.abs(want), `${got} vs ${want}`);
});

test("contrastive loss gradients, alone and through SPB-I's projection MLP, match finite differences", async () => {
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

test('SPB-I runs a tiny protocol with its rotation head kept (and trained) across phases, and resumes after a kill to the same result', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), CLASSES, 16);
  await writeImageFolder(join(root, 'data', 'val'), CLASSES, 4);
  const base = { protocol: tinyProtocol(1, 3), preset: 'tiny', method: 'spb-i', dataPath: join(root, 'data'), threads: 1, workers: 0 };
  const result = await runProtocol({ ...base, outDir: join(root, 'run') });
  assert.equal(result.phases.length, 2);
  await assert.rejects(
    runProtocol(
      { ...base, outDir: join(root, 'killed') },
      {
        onEpoch: (e) => {
          if (e.phase === 1 && e.epoch === 0) throw new Error('simulated kill');
        },
      },
    ),
    /simulated kill/,
  );
  // The frozen extractor the interrupted phase trains against holds the backbone only.
  const teacher = loadCilCheckpoint(join(root, 'killed', 'checkpoint.onnx')).state.teacher;
  assert.ok(teacher && ![...teacher.keys()].some((k) => k.startsWith('ssl.') || k.startsWith('fc')));
  const resumed = await runProtocol({ ...base, outDir: join(root, 'killed'), resume: true });
  assert.deepEqual(
    resumed.phases.map((p) => [p.accuracy, p.ncmAccuracy]),
    result.phases.map((p) => [p.accuracy, p.ncmAccuracy]),
  );
  const a = loadCilCheckpoint(join(root, 'run', 'phase-1.onnx')).state.weights;
  const b = loadCilCheckpoint(join(root, 'killed', 'phase-1.onnx')).state.weights;
  for (const [name, w] of a) assert.deepEqual(b.get(name), w, `${name} differs after resume`);
  const w0 = loadCilCheckpoint(join(root, 'run', 'phase-0.onnx')).state;
  const w1 = loadCilCheckpoint(join(root, 'run', 'phase-1.onnx')).state;
  const head = 'ssl.block1.conv1.weight';
  assert.ok(w0.weights.has(head) && w1.weights.has(head));
  assert.notDeepEqual(w1.weights.get(head), w0.weights.get(head), 'the rotation head trains in later phases too');
  assert.deepEqual(exportModel(loadCheckpoint(join(root, 'run', 'phase-1.onnx'))).info.method, 'spb-i');
});
