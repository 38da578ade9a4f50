/** The export, predict and eval commands end to end, as a user runs them. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { datasetImage } from '../../src/export/evaluate.js';
import { loadDataset } from '../../src/data/registry.js';
import { grayConvnetFixture, makeCheckpoint } from './helpers.js';

const FMNIST = loadDataset('fashion-mnist-mini', 'test');
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('onnx-cil export / predict / eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-cli-'));
  const run = join(dir, 'run');
  mkdirSync(run);
  // Only 8 of the 10 classes: eval must match names and leave the other classes' images out.
  const { bytes } = makeCheckpoint(grayConvnetFixture(FMNIST, 8));
  writeFileSync(join(run, 'checkpoint.onnx'), bytes);
  writeFileSync(join(run, 'metrics.json'), JSON.stringify({ testAccuracy: 0.125 }));
  const model = join(dir, 'out', 'model.onnx');

  it('exports from a run folder, recording the run accuracy', () => {
    const r = cli('export', '--from', run, '--out', model, '--input', 'uint8-rgba', '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.checkpoint, join(run, 'checkpoint.onnx'));
    assert.equal(s.inputLayout, 'uint8-rgba');
    assert.equal(s.accuracy, 0.125);
    assert.equal(s.foldedBatchNorms, 4);
  });

  it('predicts image files, as text and JSON', async () => {
    const files = [0, 1].map((i) => join(dir, `img${i}.png`));
    for (const [i, f] of files.entries()) {
      await sharp(Buffer.from(datasetImage(FMNIST, i).data), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(f);
    }
    const json = cli('predict', '--model', model, ...files, '--top-k', '2', '--json');
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout);
    assert.equal(out.predictions.length, 2);
    assert.equal(out.predictions[0].top.length, 2);
    assert.ok(out.predictions[0].top[0].probability > 0 && out.predictions[0].top[0].probability <= 1);
    const text = cli('predict', '--model', model, files[0]!);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /img0\.png: .+ \d+\.\d%/);
  });

  it('evaluates on a dataset with classes matched by name, --json with accuracy and count', () => {
    const r = cli('eval', '--model', model, '--dataset', 'fashion-mnist-mini', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.count, 800);
    assert.ok(out.accuracy >= 0 && out.accuracy <= 1);
    assert.deepEqual(out.unmatchedClasses, []);
  });

  it('fails clearly on bad arguments', () => {
    const missing = cli('export', '--from', join(dir, 'nothing'), '--out', model);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
    const foreign = cli('predict', '--model', join(run, 'checkpoint.onnx'), 'x.png');
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /not an onnx-cil inference model.*onnx-cil export/s);
  });
});
