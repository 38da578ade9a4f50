/**
 * Exported models predict what their checkpoints predict: same argmax, probabilities within 1e-4, in
 * onnxruntime-node and onnxruntime-web (wasm) running in Node, for a convnet on Fashion-MNIST test images and a
 * ResNet-32 on synthetic 3x32x32 images; the files pass the ONNX checker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadClassifier } from '../../src/app/node.js';
import { evaluateExportedModel, datasetImage } from '../../src/export/evaluate.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/registry.js';
import { exportModel, META_KEYS, parseModelInfo } from '../../src/export/index.js';
import { decodeModel } from '../../src/graph/onnx-proto.js';
import {
  argmaxRows,
  checkpointLogits,
  HAVE_PYTHON_ONNX,
  makeCheckpoint,
  onnxCheck,
  softmaxRows,
  syntheticDataset,
  topMargin,
  type FixtureOptions,
} from './helpers.js';

const FMNIST = loadDataset('fashion-mnist-mini', 'test');
const CONVNET: FixtureOptions = { model: 'convnet', classNames: FMNIST.classNames, inputShape: [1, 28, 28], mean: FMNIST.mean, std: FMNIST.std, seed: 11 };
const RESNET_DATA = syntheticDataset(48, [3, 32, 32], 10);
const RESNET: FixtureOptions = {
  model: 'resnet32',
  classNames: RESNET_DATA.classNames,
  inputShape: [3, 32, 32],
  mean: RESNET_DATA.mean,
  std: RESNET_DATA.std,
  seed: 5,
};

const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-export-'));

async function compare(fixture: FixtureOptions, ds: ImageDataset, runtime: 'node' | 'web', bytes: Uint8Array, reference: Float32Array) {
  const classes = fixture.classNames.length;
  const refProbs = softmaxRows(reference, classes);
  const clf = await loadClassifier(bytes, { runtime });
  try {
    const images = Array.from({ length: ds.count }, (_, i) => datasetImage(ds, i));
    const { probabilities } = await clf.infer(images);
    assert.equal(probabilities.length, refProbs.length);
    let worst = 0;
    for (let i = 0; i < refProbs.length; i++) worst = Math.max(worst, Math.abs(probabilities[i]! - refProbs[i]!));
    assert.ok(worst < 1e-4, `${runtime}: largest probability difference ${worst}`);
    const got = argmaxRows(probabilities, classes);
    const want = argmaxRows(reference, classes);
    let compared = 0;
    for (let r = 0; r < ds.count; r++) {
      if (topMargin(refProbs, classes, r) < 1e-4) continue; // a tie within float noise
      compared++;
      assert.equal(got[r], want[r], `${runtime}: image ${r} predicted ${got[r]}, checkpoint ${want[r]}`);
    }
    assert.ok(compared > ds.count * 0.5, `only ${compared} of ${ds.count} images had a clear top class`);
    const refCorrect = want.filter((p, i) => p === ds.labels[i]).length;
    if (runtime === 'node') {
      const evaluation = await evaluateExportedModel(clf, ds);
      assert.equal(evaluation.count, ds.count);
      assert.equal(evaluation.correct, refCorrect, `${runtime}: accuracy differs from the checkpoint's`);
    } else {
      assert.equal(got.filter((p, i) => p === ds.labels[i]).length, refCorrect, `${runtime}: accuracy differs from the checkpoint's`);
    }
  } finally {
    await clf.dispose();
  }
}

describe('exportModel: convnet (Fashion-MNIST test images)', () => {
  const { checkpoint } = makeCheckpoint(CONVNET);
  const result = exportModel(checkpoint, { accuracy: 0.5 });
  let reference: Float32Array;

  it('folds every BatchNorm and leaves none in the graph', () => {
    assert.equal(result.foldedBatchNorms, 4);
    const ops = result.model.graph.node.map((n) => n.op_type);
    assert.ok(!ops.includes('BatchNormalization'));
    assert.ok(result.model.graph.initializer.some((t) => t.name === 'conv1.bias'));
  });

  it('has named, documented inputs and outputs with a dynamic batch and full metadata', () => {
    const m = decodeModel(result.bytes);
    assert.deepEqual(
      m.graph.input.map((v) => v.name),
      ['input'],
    );
    assert.deepEqual(
      m.graph.output.map((v) => v.name),
      ['probabilities', 'features'],
    );
    for (const v of [...m.graph.input, ...m.graph.output]) {
      assert.ok((v.doc_string ?? '').length > 20, `${v.name} needs a doc_string`);
      assert.equal(v.type?.tensor_type?.shape?.dim?.[0]?.dim_param, 'batch');
    }
    const info = parseModelInfo(m.metadata_props ?? []);
    assert.deepEqual(info.classNames, FMNIST.classNames);
    assert.deepEqual(info.inputSize, [1, 28, 28]);
    assert.deepEqual(info.mean, FMNIST.mean);
    assert.equal(info.model, 'convnet');
    assert.equal(info.method, 'supervised');
    assert.equal(info.accuracy, 0.5);
    assert.equal(info.inputLayout, 'float32-nchw');
    assert.match(info.toolchainVersion, /^\d+\.\d+\.\d+/);
    assert.ok(m.metadata_props!.some((p) => p.key === META_KEYS.classNames));
  });

  it('passes onnx.checker full_check in all three input layouts', {
    skip: HAVE_PYTHON_ONNX ? false : 'python3 with the onnx package is not installed (apt-get install python3-onnx)',
  }, () => {
    for (const input of ['float32-nchw', 'uint8-nhwc', 'uint8-rgba'] as const) {
      const path = join(dir, `convnet-${input}.onnx`);
      writeFileSync(path, exportModel(checkpoint, { input }).bytes);
      assert.equal(onnxCheck(path), null);
    }
  });

  it('matches the checkpoint evaluation graph in onnxruntime-node', async () => {
    reference = await checkpointLogits(CONVNET, checkpoint.state, FMNIST);
    await compare(CONVNET, FMNIST, 'node', result.bytes, reference);
  });

  it('matches the checkpoint evaluation graph in onnxruntime-web (wasm)', async () => {
    reference ??= await checkpointLogits(CONVNET, checkpoint.state, FMNIST);
    await compare(CONVNET, FMNIST, 'web', result.bytes, reference);
  });

  it('gives the same rows for a batch of 1 and a batch of 3 (dynamic batch)', async () => {
    const clf = await loadClassifier(result.bytes);
    const imgs = [0, 1, 2].map((i) => datasetImage(FMNIST, i));
    const all = await clf.infer(imgs);
    const one = await clf.infer([imgs[2]!]);
    const classes = FMNIST.classNames.length;
    for (let j = 0; j < classes; j++) assert.ok(Math.abs(all.probabilities[2 * classes + j]! - one.probabilities[j]!) < 1e-6);
    let norm = 0;
    for (let j = 0; j < one.features.length; j++) norm += one.features[j]! ** 2;
    assert.ok(Math.abs(Math.sqrt(norm) - 1) < 1e-5, 'features are L2-normalised');
    await clf.dispose();
  });
});

describe('exportModel: ResNet-32 (synthetic 3x32x32 images)', () => {
  const { checkpoint } = makeCheckpoint(RESNET);
  const result = exportModel(checkpoint);
  let reference: Float32Array;

  it('folds all 33 BatchNorms (31 convolutions and 2 shortcut projections)', () => {
    assert.equal(result.foldedBatchNorms, 33);
    assert.ok(!result.model.graph.node.some((n) => n.op_type === 'BatchNormalization'));
  });

  it('matches the checkpoint evaluation graph in onnxruntime-node and onnxruntime-web', async () => {
    reference = await checkpointLogits(RESNET, checkpoint.state, RESNET_DATA);
    await compare(RESNET, RESNET_DATA, 'node', result.bytes, reference);
    await compare(RESNET, RESNET_DATA, 'web', result.bytes, reference);
  });

  it('passes onnx.checker full_check', {
    skip: HAVE_PYTHON_ONNX ? false : 'python3 with the onnx package is not installed (apt-get install python3-onnx)',
  }, () => {
    const path = join(dir, 'resnet32.onnx');
    writeFileSync(path, result.bytes);
    assert.equal(onnxCheck(path), null);
  });
});

describe('exportModel: other heads and bad input', () => {
  it('exports a linear head with a bias initializer', async () => {
    const fixture: FixtureOptions = { ...CONVNET, head: 'linear' };
    const { checkpoint } = makeCheckpoint(fixture);
    const result = exportModel(checkpoint);
    assert.ok(result.model.graph.initializer.some((t) => t.name === 'classifier.bias'));
    const ds = { ...FMNIST, count: 64, labels: FMNIST.labels.subarray(0, 64), images: FMNIST.images.subarray(0, 64 * 784) };
    await compare(fixture, ds, 'node', result.bytes, await checkpointLogits(fixture, checkpoint.state, ds));
  });

  it('refuses checkpoints without model metadata; an SPB-M checkpoint without rotation heads exports its one head', () => {
    const { checkpoint } = makeCheckpoint(CONVNET);
    assert.throws(() => exportModel({ ...checkpoint, meta: { format: 'onnx-cil-checkpoint', version: 1 } }), /lacks model, head, classNames/);
    assert.throws(() => exportModel({ ...checkpoint, meta: { ...checkpoint.meta, std: [] } }), /one mean and std per input channel \(1\), it has 1 and 0/);
    // The rotation ensemble itself is tested against the learner in test/cil/spb-m.test.ts.
    const spbm = exportModel({ ...checkpoint, meta: { ...checkpoint.meta, method: 'spb-m' } as never });
    assert.equal(spbm.info.method, 'spb-m');
    assert.ok(!spbm.model.graph.initializer.some((i) => i.name === 'classifier.weight.rot1'));
    assert.equal(exportModel({ ...checkpoint, meta: { ...checkpoint.meta, method: 'spb-m' } as never }, { singleHead: true }).info.method, 'spb-m');
    const state = new Map(checkpoint.state);
    state.delete('fc.sigma');
    assert.throws(() => exportModel({ ...checkpoint, state }), /fc\.sigma/);
  });
});
