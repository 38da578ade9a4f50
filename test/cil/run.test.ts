import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import { runProtocol, type RunOptions } from '../../src/cil/run.js';
import { companionFiles } from '../../src/train/checkpoint.js';
import { temporaryFolder, tinyProtocol, writeImageFolder } from './helpers.js';

const CLASSES = ['c0', 'c1', 'c2', 'c3'];

async function tinyData(dir: string): Promise<void> {
  await writeImageFolder(join(dir, 'train'), CLASSES, 16);
  await writeImageFolder(join(dir, 'val'), CLASSES, 4);
}

test('a protocol run writes checkpoints, metrics and report, and a killed run resumes to the same metrics and weights', async (t) => {
  const root = temporaryFolder(t);
  await tinyData(join(root, 'data'));
  const base: Omit<RunOptions, 'outDir'> = {
    protocol: tinyProtocol(2, 4),
    preset: 'tiny',
    method: 'spb',
    dataPath: join(root, 'data'),
    threads: 1,
    workers: 0,
  };

  const straight = await runProtocol({ ...base, outDir: join(root, 'straight') });
  assert.equal(straight.phases.length, 3);
  assert.deepEqual(
    straight.phases.map((p) => p.classesSeen),
    [2, 3, 4],
  );
  assert.deepEqual(
    straight.phases.map((p) => p.groupAccuracy.length),
    [1, 2, 3],
  );
  assert.deepEqual(straight.classNames, CLASSES);
  for (const p of straight.phases) for (const v of [p.accuracy, p.top5, p.ncmAccuracy, ...p.groupAccuracy]) assert.ok(v >= 0 && v <= 1);
  for (const f of ['config.json', 'checkpoint.onnx', 'phase-0.onnx', 'phase-1.onnx', 'phase-2.onnx', 'metrics.json', 'metrics.csv', 'report.html']) {
    assert.ok(existsSync(join(root, 'straight', f)), `${f} is missing`);
  }
  assert.match(readFileSync(join(root, 'straight', 'report.html'), 'utf8'), /<svg[\s\S]*Accuracy matrix/);

  // Phase checkpoints carry the model meta and the accuracy so far; a finished phase needs no resume-only state
  // (velocities, frozen extractor), so each is one file.
  const p0 = loadCilCheckpoint(join(root, 'straight', 'phase-0.onnx'));
  const p1 = loadCilCheckpoint(join(root, 'straight', 'phase-1.onnx'));
  assert.deepEqual(p1.meta.classNames, ['c0', 'c1', 'c2']);
  assert.equal(p1.meta.method, 'spb');
  assert.equal(p1.meta.phase, 1);
  assert.equal(p1.meta.evaluations.length, 2);
  assert.deepEqual(p1.meta.inputShape, [1, 8, 8]);
  assert.equal(p1.state.teacher, null);
  for (const f of ['phase-0.onnx', 'phase-1.onnx', 'phase-2.onnx', 'checkpoint.onnx']) assert.deepEqual(companionFiles(join(root, 'straight', f)), [], f);

  // Phase 0 is the same for every method: another method can reuse it, but only under the same phase-0 settings.
  const shared = await runProtocol({ ...base, method: 'ft', outDir: join(root, 'ft'), baseFrom: join(root, 'straight') });
  assert.deepEqual(shared.phases[0], straight.phases[0]);
  assert.equal(shared.method, 'ft');
  assert.deepEqual(loadCilCheckpoint(join(root, 'ft', 'phase-0.onnx')).state.weights, p0.state.weights);
  assert.equal(loadCilCheckpoint(join(root, 'ft', 'phase-1.onnx')).state.teacher, null, 'fine-tuning keeps no frozen extractor');
  await assert.rejects(runProtocol({ ...base, epochsScale: 0.5, outDir: join(root, 'other'), baseFrom: join(root, 'straight') }), /--base-from .* other data/);

  // Kill after the first epoch of phase 1 (the checkpoint is written before the hook runs), then resume.
  const killed = join(root, 'killed');
  await assert.rejects(
    runProtocol(
      { ...base, outDir: killed },
      {
        onEpoch: (e) => {
          if (e.phase === 1 && e.epoch === 0) throw new Error('simulated kill');
        },
      },
    ),
    /simulated kill/,
  );
  // The mid-phase checkpoint keeps what resuming needs in companion files: velocities and the frozen extractor,
  // which is exactly phase 0's.
  const midPhase = join(killed, 'checkpoint.onnx');
  assert.deepEqual(
    companionFiles(midPhase).map((f) => f.replace(/-[0-9a-f]{16}/, '')),
    ['checkpoint.onnx.teacher.bin', 'checkpoint.onnx.velocity.bin'],
  );
  const teacher = loadCilCheckpoint(midPhase).state.teacher;
  assert.ok(teacher);
  for (const [name, w] of teacher) assert.deepEqual(w, p0.state.weights.get(name), name);
  await assert.rejects(runProtocol({ ...base, outDir: killed }), /pass --resume/);
  await assert.rejects(runProtocol({ ...base, method: 'ft', outDir: killed, resume: true }), /cannot resume/);
  const infos: string[] = [];
  const resumed = await runProtocol({ ...base, outDir: killed, resume: true }, { onInfo: (m) => infos.push(m) });
  assert.match(infos.join('\n'), /resuming phase 1 after epoch 1/);
  assert.deepEqual(
    resumed.phases.map((p) => [p.accuracy, p.ncmAccuracy, p.groupAccuracy]),
    straight.phases.map((p) => [p.accuracy, p.ncmAccuracy, p.groupAccuracy]),
  );
  assert.equal(resumed.averageIncrementalAccuracy, straight.averageIncrementalAccuracy);
  assert.equal(resumed.forgetting, straight.forgetting);
  const a = loadCilCheckpoint(join(root, 'straight', 'phase-2.onnx')).state.weights;
  const b = loadCilCheckpoint(join(killed, 'phase-2.onnx')).state.weights;
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [name, w] of a) assert.deepEqual(b.get(name), w, `${name} differs after resume`);
});

test('proto keeps every old classifier row bit-identical and appends prototype rows of unit length', async (t) => {
  const root = temporaryFolder(t);
  await tinyData(join(root, 'data'));
  const protocol = tinyProtocol(2, 4);
  const result = await runProtocol({
    protocol,
    preset: 'tiny',
    method: 'proto',
    dataPath: join(root, 'data'),
    outDir: join(root, 'run'),
    threads: 1,
    workers: 0,
    epochsScale: 0.5,
  });
  assert.equal(result.phases.length, 3);
  const w0 = loadCilCheckpoint(join(root, 'run', 'phase-0.onnx')).state.weights;
  const w2 = loadCilCheckpoint(join(root, 'run', 'phase-2.onnx')).state.weights;
  const fc0 = w0.get('fc.weight')!;
  const fc2 = w2.get('fc.weight')!;
  assert.equal(fc2.length, fc0.length * 2);
  assert.deepEqual(new Uint32Array(fc2.buffer, fc2.byteOffset, fc0.length), new Uint32Array(fc0.buffer, fc0.byteOffset, fc0.length));
  const dim = fc0.length / 2;
  for (let r = 2; r < 4; r++) {
    const norm = Math.hypot(...fc2.subarray(r * dim, (r + 1) * dim));
    assert.ok(Math.abs(norm - 1) < 1e-5, `row ${r} has norm ${norm}`);
  }
  // No training after phase 0: the backbone is unchanged.
  for (const [name, w] of w0) if (!name.startsWith('fc.')) assert.deepEqual(w2.get(name), w, name);
});
