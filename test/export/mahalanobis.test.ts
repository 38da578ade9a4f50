/**
 * Exported models with the Mahalanobis readout (the Gaussian class statistics of `gauss` checkpoints): what the file
 * holds, that it computes the learner's readout in onnxruntime-node and onnxruntime-web (wasm), and classes added
 * in the app from one and from five images. A protocol run's export is checked in test/cil/gauss.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mahalanobisStatistics } from '../../src/app/model-edit.js';
import { loadClassifier } from '../../src/app/node.js';
import { IncrementalLearner, STATISTICS_KEYS } from '../../src/cil/learner.js';
import { GaussConfigSchema } from '../../src/cil/methods/gauss.js';
import { resolveMethod } from '../../src/cil/methods/index.js';
import { datasetImage } from '../../src/export/evaluate.js';
import { loadDataset } from '../../src/data/registry.js';
import { exportModel, MAHALANOBIS_TEMPERATURE, parseModelInfo } from '../../src/export/index.js';
import { decodeModel, encodeModel, tensorData } from '../../src/graph/onnx-proto.js';
import { classMoments, mahalanobisParameters, shrunkCovariance, spdInverse } from '../../src/nn/class-statistics.js';
import { getModelSpec } from '../../src/nn/models.js';
import {
  argmaxRows,
  checkpointOutputs,
  grayConvnetFixture,
  makeCheckpoint,
  softmaxRows,
  topMargin,
  withClassStatistics,
  type FixtureOptions,
} from './helpers.js';

const FMNIST = loadDataset('fashion-mnist-mini', 'test');
const TRAIN = loadDataset('fashion-mnist-mini', 'train');
const CLASSES = 8;
const FIXTURE: FixtureOptions = grayConvnetFixture(FMNIST, CLASSES, 13);
// The method's defaults: no ridge beyond a floor, so some precision entries are large (the float64 path matters).
const { priorStrength, shrinkage } = GaussConfigSchema.parse({});
const OPTIONS = { priorStrength, shrinkage };
const checkpoint = withClassStatistics(FIXTURE, makeCheckpoint(FIXTURE).checkpoint, TRAIN, OPTIONS);
/** Test images of the fixture's classes. */
const TEST_INDICES = Array.from({ length: FMNIST.count }, (_, i) => i).filter((i) => FMNIST.labels[i]! < CLASSES);

function initializer(bytes: Uint8Array, name: string): { data: Float32Array; dims: number[] } {
  const t = decodeModel(bytes).graph.initializer.find((x) => x.name === name);
  assert.ok(t, `the model has ${name}`);
  return { data: tensorData(t) as Float32Array, dims: (t.dims ?? []).map(Number) };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** The learner's Mahalanobis scores of the test images: its own readout over its evaluation graph's features. */
async function learnerScores(): Promise<Float32Array> {
  const ck = await checkpoint;
  const s = (key: string) => ck.state.get(key)!;
  const learner = new IncrementalLearner(
    resolveMethod('gauss', OPTIONS).policy,
    { model: 'convnet', spec: getModelSpec('convnet'), inputShape: FIXTURE.inputShape, backend: { threads: 1 }, evalBatchSize: 64, workers: 0, seed: 1 },
    {
      weights: ck.state,
      teacher: null,
      classMeans: new Float32Array(0),
      classes: CLASSES,
      statistics: {
        counts: s(STATISTICS_KEYS.counts),
        means: s(STATISTICS_KEYS.means),
        covariances: s(STATISTICS_KEYS.covariances),
        pooled: s(STATISTICS_KEYS.pooled),
      },
    },
  );
  const p = await checkpointOutputs(FIXTURE, ck.state, FMNIST, TEST_INDICES);
  return learner.statisticsScores(p.outputs['features']!);
}

describe('exportModel: the Mahalanobis readout of a gauss checkpoint', () => {
  it('holds the class means, the precisions of the regularised covariances and the pooled covariance, and its options in the metadata', async () => {
    const ck = await checkpoint;
    const { bytes, model, info, foldedBatchNorms } = exportModel(ck);
    const d = ck.state.get(STATISTICS_KEYS.pooled)!.length ** 0.5;
    const means = initializer(bytes, 'mahalanobis.means');
    const precisions = initializer(bytes, 'mahalanobis.precisions');
    const pooled = initializer(bytes, 'mahalanobis.pooled_covariance');
    assert.deepEqual(
      [means.dims, precisions.dims, pooled.dims],
      [
        [CLASSES, d],
        [CLASSES, d, d],
        [d, d],
      ],
    );
    const expected = mahalanobisParameters(
      {
        dim: d,
        counts: Array.from(ck.state.get(STATISTICS_KEYS.counts)!),
        means: Float64Array.from(ck.state.get(STATISTICS_KEYS.means)!),
        covariances: Float64Array.from(ck.state.get(STATISTICS_KEYS.covariances)!),
      },
      ck.state.get(STATISTICS_KEYS.pooled)!,
      OPTIONS,
    );
    assert.deepEqual(means.data, expected.means);
    assert.deepEqual(precisions.data, expected.precisions);
    assert.deepEqual(pooled.data, ck.state.get(STATISTICS_KEYS.pooled));
    // Standard ops only, BatchNorm folded, no classifier rows, the usual input and outputs.
    assert.equal(foldedBatchNorms, 4);
    assert.ok(model.graph.node.every((n) => !n.domain && n.op_type !== 'BatchNormalization'));
    assert.ok(!model.graph.initializer.some((t) => t.name?.startsWith('classifier.')));
    assert.deepEqual(
      model.graph.input.map((v) => v.name),
      ['input'],
    );
    assert.deepEqual(
      model.graph.output.map((v) => v.name),
      ['probabilities', 'features'],
    );
    assert.match(model.graph.output[0]!.doc_string ?? '', /Mahalanobis/);
    const parsed = parseModelInfo(model.metadata_props ?? []);
    assert.deepEqual(parsed, info);
    assert.deepEqual(parsed.readout, { kind: 'mahalanobis', ...OPTIONS });
    assert.equal(parsed.method, 'gauss');
    assert.equal(parsed.formatVersion, 2, 'readers of version 1 refuse the file instead of misreading it');
    // --single-head exports the cosine classifier instead, as a version-1 file.
    const single = exportModel(ck, { singleHead: true });
    assert.deepEqual(single.info.readout, { kind: 'classifier' });
    assert.equal(single.info.formatVersion, 1);
    assert.ok(single.model.graph.initializer.some((t) => t.name === 'classifier.weight'));
  });

  it('predicts what the learner predicts, probabilities softmax(-d^2 / MAHALANOBIS_TEMPERATURE), in onnxruntime-node and onnxruntime-web alike', async () => {
    const scores = await learnerScores();
    const reference = softmaxRows(
      scores.map((v) => v / MAHALANOBIS_TEMPERATURE),
      CLASSES,
    );
    const want = argmaxRows(scores, CLASSES);
    const images = TEST_INDICES.map((i) => datasetImage(FMNIST, i));
    const bytes = exportModel(await checkpoint).bytes;
    const outputs: Float32Array[] = [];
    for (const runtime of ['node', 'web'] as const) {
      const clf = await loadClassifier(bytes, { runtime });
      const { probabilities } = await clf.infer(images);
      await clf.dispose();
      outputs.push(probabilities);
      assert.ok(maxDiff(probabilities, reference) < 1e-4, `${runtime}: probabilities differ from the learner's by ${maxDiff(probabilities, reference)}`);
      const got = argmaxRows(probabilities, CLASSES);
      let compared = 0;
      for (let r = 0; r < TEST_INDICES.length; r++) {
        if (topMargin(reference, CLASSES, r) < 1e-4) continue; // a tie within float noise
        compared++;
        assert.equal(got[r], want[r], `${runtime}: image ${TEST_INDICES[r]} predicted ${got[r]}, the learner ${want[r]}`);
      }
      assert.ok(compared > TEST_INDICES.length * 0.9, `only ${compared} of ${TEST_INDICES.length} images had a clear top class`);
    }
    assert.ok(maxDiff(outputs[0]!, outputs[1]!) < 1e-4, `node and web differ by ${maxDiff(outputs[0]!, outputs[1]!)}`);
    // The readout spreads its probability: neither one-hot everywhere nor uniform.
    const top = Array.from({ length: TEST_INDICES.length }, (_, r) => Math.max(...outputs[0]!.subarray(r * CLASSES, (r + 1) * CLASSES)));
    assert.ok(top.some((p) => p < 0.9) && top.some((p) => p > 2 / CLASSES), `top probabilities from ${Math.min(...top)} to ${Math.max(...top)}`);

    // Canvas bytes in: the same in both runtimes.
    const rgbaBytes = exportModel(await checkpoint, { input: 'uint8-rgba' }).bytes;
    const rgba = TEST_INDICES.slice(0, 40).map((i) => {
      const data = new Uint8Array(784 * 4);
      for (const [k, v] of FMNIST.images.subarray(i * 784, (i + 1) * 784).entries()) data.set([v, v, v, 255], k * 4);
      return { data, width: 28, height: 28 };
    });
    const [fromNode, fromWeb] = await Promise.all(
      (['node', 'web'] as const).map(async (runtime) => {
        const clf = await loadClassifier(rgbaBytes, { runtime });
        const { probabilities } = await clf.infer(rgba);
        await clf.dispose();
        return probabilities;
      }),
    );
    assert.ok(maxDiff(fromNode!, fromWeb!) < 1e-4);
    assert.ok(maxDiff(fromNode!, outputs[0]!.subarray(0, 40 * CLASSES)) < 1e-4, 'uint8-rgba and float32 inputs give the same probabilities');
  });
});

describe('addClasses on a model with the Mahalanobis readout', () => {
  const examples = (label: number, count: number) => {
    const out = [];
    for (let i = 0; i < TRAIN.count && out.length < count; i++) if (TRAIN.labels[i] === label) out.push(datasetImage(TRAIN, i));
    return out;
  };

  it('adds a class from 1 image and one from 5: mean and regularised precision of their features, old statistics bit-identical', async () => {
    const original = exportModel(await checkpoint, { input: 'uint8-rgba' }).bytes;
    const clf = await loadClassifier(original);
    const before = mahalanobisStatistics(decodeModel(original));
    const bag = examples(8, 1);
    const boots = examples(9, 5);
    const bagFeatures = (await clf.infer(bag)).features;
    const bootFeatures = (await clf.infer(boots)).features;
    await clf.addClasses([
      { label: 'Bag', images: bag },
      { label: 'Ankle boot', images: boots },
    ]);
    assert.deepEqual(clf.classNames, FMNIST.classNames);
    assert.deepEqual(clf.info.addedClasses, ['Bag', 'Ankle boot']);
    assert.deepEqual(clf.info.readout, { kind: 'mahalanobis', ...OPTIONS });
    const bytes = clf.toBytes();
    const after = mahalanobisStatistics(decodeModel(bytes));
    const d = before.dim;
    assert.equal(after.classes, 10);
    const sameBytes = (a: Float32Array, b: Float32Array) =>
      assert.deepEqual(new Uint8Array(a.buffer, a.byteOffset, b.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    sameBytes(after.means, before.means);
    sameBytes(after.precisions, before.precisions);
    assert.deepEqual(after.pooled, before.pooled);

    // One image: the mean is its feature; the covariance is the pooled one plus the ridge, positive definite.
    assert.ok(maxDiff(after.means.subarray(8 * d, 9 * d), bagFeatures) < 1e-6);
    const bagPrecision = after.precisions.subarray(8 * d * d, 9 * d * d);
    const ridged = shrunkCovariance(new Float64Array(d * d), 1, before.pooled, d, OPTIONS);
    const expectedBag = spdInverse(ridged, d);
    assert.ok(maxDiff(bagPrecision, expectedBag) <= 1e-5 * expectedBag.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    assert.doesNotThrow(() => spdInverse(bagPrecision, d), 'the precision of a one-image class is positive definite');
    // Five images: their mean and unbiased covariance, blended with the pooled covariance by 4 degrees of freedom.
    const m = classMoments(bootFeatures, new Int32Array(5), d, [0]);
    assert.ok(maxDiff(after.means.subarray(9 * d), m.means) < 1e-6);
    const expectedBoots = spdInverse(shrunkCovariance(m.covariances, 5, before.pooled, d, OPTIONS), d);
    assert.ok(maxDiff(after.precisions.subarray(9 * d * d), expectedBoots) <= 1e-4 * expectedBoots.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    // An image of a one-image class is at distance 0 from its mean: the nearest class.
    assert.equal((await clf.classify(bag[0]!, { topK: 1 }))[0]!.label, 'Bag');

    // Saved and reloaded (Node and web) it classifies as the edited classifier does.
    const probe = [...examples(8, 3).slice(1), ...examples(9, 7).slice(5), datasetImage(FMNIST, 3)];
    const want = await clf.classifyBatch(probe, { topK: 10 });
    assert.equal(want[0]!.length, 10);
    const m2 = decodeModel(bytes);
    assert.equal(Number(m2.graph.output[0]!.type!.tensor_type!.shape!.dim![1]!.dim_value), 10);
    for (const runtime of ['node', 'web'] as const) {
      const reloaded = await loadClassifier(bytes, { runtime });
      assert.deepEqual(reloaded.info, clf.info);
      const got = await reloaded.classifyBatch(probe, { topK: 10 });
      got.forEach((row, i) => {
        // Far classes' probabilities underflow to about 0, so only the top label's rank is compared.
        assert.equal(row[0]!.label, want[i]![0]!.label, `${runtime}: image ${i}`);
        for (const p of row) {
          assert.ok(Math.abs(p.probability - want[i]!.find((q) => q.label === p.label)!.probability) < 1e-4, `${runtime}: image ${i}, ${p.label}`);
        }
      });
      await reloaded.dispose();
    }
    await clf.dispose();
  });

  it('refuses non-finite images and damaged statistics, leaving the model unchanged', async () => {
    const bytes = exportModel(await checkpoint).bytes;
    const clf = await loadClassifier(bytes);
    const nan = { data: new Float32Array(784).fill(Number.NaN), shape: [28, 28] };
    await assert.rejects(clf.addClasses([{ label: 'Bag', images: [nan] }]), /class "Bag": image 0: .*not a finite number/);
    assert.equal(clf.classNames.length, CLASSES);
    assert.deepEqual(clf.toBytes(), bytes);
    await clf.dispose();
    const model = decodeModel(bytes);
    model.graph.initializer = model.graph.initializer.filter((t) => t.name !== 'mahalanobis.pooled_covariance');
    await assert.rejects(loadClassifier(encodeModel(model)), /inconsistent: the model has no mahalanobis\.pooled_covariance/);
  });
});
