/**
 * Models that would give wrong answers instead of errors: NaN pixels given to the app, NaN or infinite weights in
 * checkpoints and exported models, class-name lists that do not match the classifier, and corrupt shapes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Classifier, loadClassifier } from '../../src/app/node.js';
import { inspectModel } from '../../src/cli/commands/inspect.js';
import { exportModel, loadExportSource, META_KEYS } from '../../src/export/index.js';
import { decodeModel, encodeModel, type ModelProto } from '../../src/graph/onnx-proto.js';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint } from '../../src/train/checkpoint.js';
import { makeCheckpoint } from './helpers.js';

const NAMES = ['a', 'b', 'c', 'd'];
const fixture = makeCheckpoint({ model: 'convnet', classNames: NAMES, inputShape: [1, 8, 8], mean: [0.5], std: [0.25], seed: 5 });
const exported = exportModel(fixture.checkpoint, { input: 'uint8-nhwc' }).bytes;
const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-consistency-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of ONNX bytes with one float of the named initializer replaced (raw little-endian storage). */
function withValue(bytes: Uint8Array, name: string, value: number): Uint8Array {
  const model = decodeModel(bytes);
  const t = model.graph.initializer.find((x) => x.name === name);
  assert.ok(t?.raw_data, `no raw initializer ${name}`);
  const raw = new Uint8Array(t.raw_data);
  new DataView(raw.buffer).setFloat32(4, value, true);
  t.raw_data = raw;
  return encodeModel(model);
}

/** A copy of ONNX bytes with `edit` applied to the decoded model. */
function edited(bytes: Uint8Array, edit: (m: ModelProto) => void): Uint8Array {
  const model = decodeModel(bytes);
  edit(model);
  return encodeModel(model);
}

function setClassNames(m: ModelProto, names: string[]): void {
  const p = m.metadata_props!.find((x) => x.key === META_KEYS.classNames)!;
  p.value = JSON.stringify(names);
}

/** An 8x8 grey image as float pixels (0-1). */
function floatImage(seed: number): { data: Float32Array; width: number; height: number } {
  return { data: Float32Array.from({ length: 64 }, (_, i) => ((i * 7 + seed * 13) % 17) / 17), width: 8, height: 8 };
}

describe('non-finite pixels', () => {
  it('addClasses rejects a NaN pixel, naming the class and the image, and leaves the model as it was', async () => {
    const clf = await Classifier.fromBytes(exported);
    const bad = floatImage(2);
    bad.data[17] = Number.NaN;
    await assert.rejects(
      clf.addClasses([{ label: 'Mug', images: [floatImage(1), bad] }]),
      (err: Error) => err.message === 'class "Mug": image 1: pixel value NaN at index 17 is not a finite number (float pixels must be 0-1)',
    );
    // One image: the index is still named.
    const inf = floatImage(3);
    inf.data[0] = Number.POSITIVE_INFINITY;
    await assert.rejects(clf.addClasses([{ label: 'Cup', images: [inf] }]), /^RangeError: class "Cup": image 0: pixel value Infinity at index 0/);
    assert.deepEqual(clf.classNames, NAMES);
    await clf.addClasses([{ label: 'Mug', images: [floatImage(1), floatImage(2)] }]);
    const reloaded = await Classifier.fromBytes(clf.toBytes());
    const [best] = await reloaded.classify(floatImage(1), { topK: 5 });
    assert.ok(Number.isFinite(best!.probability), 'classification after a reload is finite');
    await assert.rejects(reloaded.classify(bad), /^RangeError: pixel value NaN at index 17/);
    await clf.dispose();
    await reloaded.dispose();
  });

  it('infer with no images says what it needs', async () => {
    const clf = await Classifier.fromBytes(exported);
    await assert.rejects(clf.infer([]), /^RangeError: infer needs at least one image; it was given an empty array$/);
    await clf.dispose();
  });
});

describe('non-finite weights', () => {
  const state = new Map(fixture.checkpoint.state);
  const name = [...state.keys()].find((k) => k === 'fc.weight')!;

  it('a checkpoint with NaN weights is refused when saved, loaded and exported', () => {
    const nan = new Map(state);
    const w = Float32Array.from(nan.get(name)!);
    w[3] = Number.NaN;
    nan.set(name, w);
    assert.throws(
      () => encodeCheckpoint({ meta: fixture.checkpoint.meta, state: nan, shapes: fixture.checkpoint.shapes, inputShape: [1, 8, 8], inference: () => ({}) }),
      /^Error: cannot save the checkpoint: fc\.weight holds NaN values, so training diverged; train again with a lower learning rate$/,
    );
    const bytes = withValue(fixture.bytes, name, Number.NaN);
    assert.throws(
      () => decodeCheckpoint(bytes, 'x.onnx'),
      /^Error: x\.onnx: tensor fc\.weight holds NaN values \(its training diverged or the file is damaged\); use an earlier checkpoint/,
    );
    const path = join(dir, 'nan.onnx');
    writeFileSync(path, withValue(fixture.bytes, name, Number.NEGATIVE_INFINITY));
    assert.throws(() => loadCheckpoint(path), /tensor fc\.weight holds -Infinity values/);
    assert.throws(() => loadExportSource(path), /tensor fc\.weight holds -Infinity values/);
  });

  it('an exported model with a NaN weight is refused when loaded', async () => {
    await assert.rejects(
      Classifier.fromBytes(withValue(exported, 'classifier.weight', Number.NaN), {}),
      /^Error: the model: weight classifier\.weight holds NaN values; the model is damaged or its training diverged/,
    );
    const path = join(dir, 'nan-model.onnx');
    writeFileSync(path, withValue(exported, 'classifier.weight', Number.NaN));
    await assert.rejects(loadClassifier(path), new RegExp(`^Error: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: weight classifier\\.weight holds NaN`));
  });
});

describe('class names that do not match the classifier', () => {
  for (const [what, names] of [
    ['longer', [...NAMES, 'e']],
    ['shorter', NAMES.slice(0, 3)],
  ] as const) {
    it(`a ${what} list is refused when loaded and flagged by inspect`, async () => {
      const bytes = edited(exported, (m) => setClassNames(m, [...names]));
      await assert.rejects(
        Classifier.fromBytes(bytes),
        (err: Error) =>
          err.message ===
          `the model is inconsistent: its metadata names ${names.length} classes but its classifier has 4 outputs (the file was edited or damaged); export it again from its checkpoint (onnx-cil export)`,
      );
      assert.deepEqual(inspectModel(bytes).warnings, [
        `metadata names ${names.length} classes but the classifier has 4 outputs: labels would be shifted (onnx-cil refuses to load it)`,
      ]);
    });
  }

  it('a checkpoint whose class names do not match its classifier cannot be exported', () => {
    const checkpoint = { ...fixture.checkpoint, meta: { ...fixture.checkpoint.meta, classNames: [...NAMES, 'e'] } };
    assert.throws(
      () => exportModel(checkpoint),
      /^Error: the checkpoint is inconsistent: fc\.weight \(cosine classifier rows\) has 512 values where the class names in its metadata need 640/,
    );
  });

  it('inspect reports no warning for a sound model and flags shapes the file cannot hold', () => {
    assert.deepEqual(inspectModel(exported).warnings, []);
    const huge = edited(exported, (m) => {
      const t = m.graph.initializer.find((x) => x.name === 'classifier.weight')!;
      t.dims = [1_000_000, 1_100_000];
    });
    const s = inspectModel(huge);
    assert.ok(s.parameters > 1e12);
    assert.equal(s.warnings.length, 3);
    assert.match(s.warnings[0]!, /^initializer classifier\.weight declares \[1000000, 1100000\] \(1,100,000,000,000 values\) but stores 512$/);
    assert.match(s.warnings[1]!, /^the initializers declare [\d,]+ bytes of weights but the file has [\d,]+: the parameter count is not real$/);
    assert.match(s.warnings[2]!, /^metadata names 4 classes but the classifier has 1000000 outputs/);
  });
});
