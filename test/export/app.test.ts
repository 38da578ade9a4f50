/** The app API (Node entry): input layouts, images, resizing, classes added in the app, files, and its errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { loadClassifier, resizePixels, toPixels } from '../../src/app/node.js';
import { classifierWeight, prototypeOf } from '../../src/app/model-edit.js';
import { datasetImage } from '../../src/export/evaluate.js';
import { loadDataset } from '../../src/data/registry.js';
import { exportModel, parseModelInfo } from '../../src/export/index.js';
import { decodeModel, tensorData } from '../../src/graph/onnx-proto.js';
import { createBackend } from '../../src/runtime/backend.js';
import { HAVE_PYTHON_ONNX, grayConvnetFixture, makeCheckpoint, onnxCheck, syntheticDataset, type FixtureOptions } from './helpers.js';

const FMNIST = loadDataset('fashion-mnist-mini', 'test');
const TRAIN = loadDataset('fashion-mnist-mini', 'train');
const GRAY: FixtureOptions = grayConvnetFixture(FMNIST, 8, 3);
const gray = makeCheckpoint(GRAY).checkpoint;
const RGB_DATA = syntheticDataset(16, [3, 16, 16], 4);
const RGB: FixtureOptions = {
  model: 'convnet',
  classNames: RGB_DATA.classNames,
  inputShape: [3, 16, 16],
  mean: [0.4, 0.5, 0.6],
  std: [0.2, 0.25, 0.3],
  seed: 4,
};
const rgb = makeCheckpoint(RGB).checkpoint;
const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-app-'));

/** Probabilities from a raw session run on already packed input. */
async function rawProbabilities(bytes: Uint8Array, name: string, data: Float32Array | Uint8Array, dims: number[]): Promise<Float32Array> {
  const { ort, session } = await createBackend(bytes);
  const tensor = data instanceof Float32Array ? new ort.Tensor('float32', data, dims) : new ort.Tensor('uint8', data, dims);
  const out = await session.run({ [name]: tensor });
  await session.release();
  return out['probabilities']!.data as Float32Array;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('uint8 inputs normalise inside the graph', () => {
  it('1-channel model: RGBA (gray replicated, any alpha) and NHWC bytes equal the float32 path after manual normalisation', async () => {
    const n = 16;
    const float = new Float32Array(n * 784);
    const rgba = new Uint8Array(n * 784 * 4);
    for (let i = 0; i < n * 784; i++) {
      const v = FMNIST.images[i]!;
      float[i] = (v / 255 - FMNIST.mean[0]!) / FMNIST.std[0]!;
      rgba.set([v, v, v, (i * 37) % 256], i * 4);
    }
    const want = await rawProbabilities(exportModel(gray).bytes, 'input', float, [n, 1, 28, 28]);
    const fromRgba = await rawProbabilities(exportModel(gray, { input: 'uint8-rgba' }).bytes, 'pixels', rgba, [n, 28, 28, 4]);
    const fromNhwc = await rawProbabilities(exportModel(gray, { input: 'uint8-nhwc' }).bytes, 'pixels', FMNIST.images.slice(0, n * 784), [n, 28, 28, 1]);
    assert.ok(maxDiff(want, fromRgba) < 1e-4);
    assert.ok(maxDiff(want, fromNhwc) < 1e-4);
  });

  it('1-channel model from colour RGBA uses BT.601 luma', async () => {
    const rgba = new Uint8Array(784 * 4);
    const float = new Float32Array(784);
    for (let i = 0; i < 784; i++) {
      const [r, g, b] = [(i * 7) % 256, (i * 13) % 256, (i * 29) % 256];
      rgba.set([r, g, b, 255], i * 4);
      float[i] = ((0.299 * r + 0.587 * g + 0.114 * b) / 255 - FMNIST.mean[0]!) / FMNIST.std[0]!;
    }
    const want = await rawProbabilities(exportModel(gray).bytes, 'input', float, [1, 1, 28, 28]);
    const got = await rawProbabilities(exportModel(gray, { input: 'uint8-rgba' }).bytes, 'pixels', rgba, [1, 28, 28, 4]);
    assert.ok(maxDiff(want, got) < 1e-4);
  });

  it('3-channel model: RGBA drops alpha; NHWC matches; per-channel mean/std applied', async () => {
    const n = RGB_DATA.count;
    const hw = 256;
    const float = new Float32Array(n * 3 * hw);
    const rgba = new Uint8Array(n * hw * 4);
    const nhwc = new Uint8Array(n * hw * 3);
    for (let b = 0; b < n; b++) {
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < hw; p++) {
          const v = RGB_DATA.images[(b * 3 + c) * hw + p]!;
          float[(b * 3 + c) * hw + p] = (v / 255 - RGB.mean[c]!) / RGB.std[c]!;
          rgba[(b * hw + p) * 4 + c] = v;
          rgba[(b * hw + p) * 4 + 3] = (p * 11) % 256;
          nhwc[(b * hw + p) * 3 + c] = v;
        }
      }
    }
    const want = await rawProbabilities(exportModel(rgb).bytes, 'input', float, [n, 3, 16, 16]);
    assert.ok(maxDiff(want, await rawProbabilities(exportModel(rgb, { input: 'uint8-rgba' }).bytes, 'pixels', rgba, [n, 16, 16, 4])) < 1e-4);
    assert.ok(maxDiff(want, await rawProbabilities(exportModel(rgb, { input: 'uint8-nhwc' }).bytes, 'pixels', nhwc, [n, 16, 16, 3])) < 1e-4);
  });
});

describe('loadClassifier / classify', () => {
  it('classifies ImageData-like RGBA, shaped arrays and float arrays alike, in every layout', async () => {
    const img = datasetImage(FMNIST, 0);
    const rgbaData = new Uint8ClampedArray(784 * 4);
    for (const [i, v] of img.data.entries()) rgbaData.set([v, v, v, 255], i * 4);
    const floats = Float32Array.from(img.data, (v) => v / 255);
    const results = [];
    for (const input of ['float32-nchw', 'uint8-rgba', 'uint8-nhwc'] as const) {
      const clf = await loadClassifier(exportModel(gray, { input }).bytes);
      for (const image of [img, { data: rgbaData, width: 28, height: 28 }, { data: floats, shape: [28, 28] }]) {
        const top = await clf.classify(image, { topK: 3 });
        assert.equal(top.length, 3);
        assert.ok(top[0]!.probability >= top[1]!.probability && top[1]!.probability >= top[2]!.probability);
        assert.ok(GRAY.classNames.includes(top[0]!.label));
        results.push(top);
      }
      assert.equal((await clf.classify(img, { topK: 100 })).length, 8, 'topK is capped at the class count');
      await clf.dispose();
    }
    for (const r of results) {
      assert.equal(r[0]!.label, results[0]![0]!.label);
      assert.ok(Math.abs(r[0]!.probability - results[0]![0]!.probability) < 1e-4);
    }
  });

  it('resizes other sizes: same-size is untouched, constants stay constant, 2x images come back close', async () => {
    const p = toPixels({ data: new Uint8Array(30 * 20).fill(77), shape: [20, 30, 1] });
    const r = resizePixels(p, 28, 28);
    assert.ok([...r.data].every((v) => Math.abs(v - 77) < 1e-3));
    assert.equal(resizePixels(p, 30, 20), p);
    const img = datasetImage(FMNIST, 5);
    const big = new Uint8Array(56 * 56);
    for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) big[y * 56 + x] = img.data[(y >> 1) * 28 + (x >> 1)]!;
    const clf = await loadClassifier(exportModel(gray, { input: 'uint8-rgba' }).bytes);
    const a = await clf.classify(img, { topK: 1 });
    const b = await clf.classify({ data: big, shape: [56, 56, 1] }, { topK: 1 });
    assert.equal(a[0]!.label, b[0]!.label);
    await clf.dispose();
  });

  it('reads image files with sharp (PNG, resized when needed)', async () => {
    const img = datasetImage(FMNIST, 7);
    const png = join(dir, 'img.png');
    await sharp(Buffer.from(img.data), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(png);
    const clf = await loadClassifier(exportModel(gray, { input: 'uint8-rgba' }).bytes);
    const fromFile = await clf.classify(png, { topK: 1 });
    const fromPixels = await clf.classify(img, { topK: 1 });
    assert.equal(fromFile[0]!.label, fromPixels[0]!.label);
    assert.ok(Math.abs(fromFile[0]!.probability - fromPixels[0]!.probability) < 1e-4);
    const bigPng = join(dir, 'big.jpg');
    await sharp(Buffer.from(img.data), { raw: { width: 28, height: 28, channels: 1 } })
      .resize(90, 60)
      .jpeg()
      .toFile(bigPng);
    assert.equal((await clf.classify(bigPng, { topK: 2 })).length, 2);
    await assert.rejects(clf.classify(join(dir, 'missing.png')), /cannot read image/);
    await clf.dispose();
  });

  it('gives clear errors for foreign models, checkpoints, garbage and bad images', async () => {
    await assert.rejects(loadClassifier(readFileSync(new URL('../fixtures/foreign-mlp.onnx', import.meta.url))), /not an onnx-cil inference model/);
    await assert.rejects(loadClassifier(makeCheckpoint(GRAY).bytes), /training checkpoint.*onnx-cil export/s);
    await assert.rejects(loadClassifier(new Uint8Array([1, 2, 3, 4, 5])), /not a valid ONNX model/);
    await assert.rejects(loadClassifier(join(dir, 'nope.onnx')), /cannot read model .*ENOENT/);
    await assert.rejects(loadClassifier(42 as never), /expected model bytes/);
    const clf = await loadClassifier(exportModel(gray).bytes);
    await assert.rejects(clf.classify(null as never), /expected an image/);
    await assert.rejects(clf.classify({ data: [1, 2, 3], width: 1, height: 1 } as never), /must be a Uint8Array/);
    await assert.rejects(clf.classify({ data: new Uint8Array(0), width: 0, height: 5 }), /zero size/);
    await assert.rejects(clf.classify({ data: new Uint8Array(10), width: 3, height: 3 }), /not 1, 3 or 4 channels/);
    await assert.rejects(clf.classify({ data: new Uint8Array(10), shape: [3, 3, 1] }), /needs 9/);
    await assert.rejects(clf.classify(datasetImage(FMNIST, 0), { topK: 0 }), /topK/);
    await clf.dispose();
    await assert.rejects(clf.classify(datasetImage(FMNIST, 0)), /disposed/);
  });
});

describe('addClasses', () => {
  const examples = (label: number, count: number) => {
    const out = [];
    for (let i = 0; i < TRAIN.count && out.length < count; i++) if (TRAIN.labels[i] === label) out.push(datasetImage(TRAIN, i));
    return out;
  };

  it('appends prototype rows, keeps old rows bit-identical, updates names, and round-trips through toBytes and save', async () => {
    const original = exportModel(gray, { input: 'uint8-rgba' }).bytes;
    const clf = await loadClassifier(original);
    const before = classifierWeight(decodeModel(original));
    const bags = examples(8, 10);
    const boots = examples(9, 10);
    const bagFeatures = (await clf.infer(bags)).features;
    await clf.addClasses([
      { label: 'Bag', images: bags },
      { label: 'Ankle boot', images: boots },
    ]);
    assert.deepEqual(clf.classNames, FMNIST.classNames);
    assert.deepEqual(clf.info.addedClasses, ['Bag', 'Ankle boot']);
    const bytes = clf.toBytes();
    const after = classifierWeight(decodeModel(bytes));
    assert.equal(after.classes, 10);
    assert.deepEqual(
      new Uint8Array(after.data.buffer, after.data.byteOffset, before.data.byteLength),
      new Uint8Array(before.data.buffer, before.data.byteOffset, before.data.byteLength),
    );
    const bagRow = after.data.subarray(8 * after.dim, 9 * after.dim);
    assert.deepEqual([...bagRow], [...prototypeOf(bagFeatures, after.dim)]);
    let norm = 0;
    for (const v of bagRow) norm += v * v;
    assert.ok(Math.abs(norm - 1) < 1e-5);
    const m = decodeModel(bytes);
    assert.equal(Number(m.graph.output[0]!.type!.tensor_type!.shape!.dim![1]!.dim_value), 10);
    assert.deepEqual(parseModelInfo(m.metadata_props ?? []).classNames, FMNIST.classNames);
    assert.equal(
      tensorData(m.graph.initializer.find((t) => t.name === 'classifier.scale')!)[0],
      tensorData(decodeModel(original).graph.initializer.find((t) => t.name === 'classifier.scale')!)[0],
    );

    const probe = [...examples(8, 12).slice(10), datasetImage(FMNIST, 3)];
    const want = await clf.classifyBatch(probe, { topK: 10 });
    assert.equal(want[0]!.length, 10);
    const path = join(dir, 'added.onnx');
    await clf.save(path);
    for (const reloaded of [await loadClassifier(bytes), await loadClassifier(path), await loadClassifier(bytes, { runtime: 'web' })]) {
      const got = await reloaded.classifyBatch(probe, { topK: 10 });
      for (const [i, row] of got.entries()) {
        for (const [k, p] of row.entries()) {
          assert.equal(p.label, want[i]![k]!.label);
          assert.ok(Math.abs(p.probability - want[i]![k]!.probability) < 1e-4);
        }
      }
      await reloaded.dispose();
    }
    if (HAVE_PYTHON_ONNX) assert.equal(onnxCheck(path), null);
    await clf.dispose();
  });

  it('refuses duplicate or existing labels, empty classes, bad images and linear heads, leaving the model unchanged', async () => {
    const clf = await loadClassifier(exportModel(gray).bytes);
    const img = datasetImage(FMNIST, 0);
    await assert.rejects(clf.addClasses([{ label: 'Coat', images: [img] }]), /already has a class "Coat"/);
    await assert.rejects(
      clf.addClasses([
        { label: 'Bag', images: [img] },
        { label: 'Bag', images: [img] },
      ]),
      /"Bag" is given twice/,
    );
    await assert.rejects(clf.addClasses([{ label: 'Bag', images: [] }]), /has no images/);
    await assert.rejects(clf.addClasses([{ label: '  ', images: [img] }]), /non-empty string label/);
    await assert.rejects(clf.addClasses([]), /non-empty array/);
    await assert.rejects(
      clf.addClasses([{ label: 'Bag', images: [img, { data: new Uint8Array(0), width: 0, height: 0 }] }]),
      /class "Bag": image 1: .*zero size/,
    );
    assert.equal(clf.classNames.length, 8);
    await clf.dispose();
    const linear = await loadClassifier(exportModel(makeCheckpoint({ ...GRAY, head: 'linear' }).checkpoint).bytes);
    await assert.rejects(linear.addClasses([{ label: 'Bag', images: [img] }]), /cosine classifier/);
    await linear.dispose();
  });
});
