/**
 * Checkpoint files: resume-only state (velocities, teacher) goes to content-named companion files,
 * loads back bit for bit, survives a crash between the companion and checkpoint writes, and a missing or damaged
 * companion gives a clear error. Single-file checkpoints (format 1, or encodeCheckpoint's output) still load.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { flatten } from '../../src/graph/ops/flatten.js';
import { gemm } from '../../src/graph/ops/gemm.js';
import { decodeModel, encodeModel } from '../../src/graph/onnx-proto.js';
import type { StateDict } from '../../src/nn/params.js';
import {
  CHECKPOINT_META_KEY,
  companionFiles,
  decodeCheckpoint,
  encodeCheckpoint,
  encodeCheckpointFiles,
  loadCheckpoint,
  saveCheckpoint,
  type SaveCheckpointOptions,
} from '../../src/train/checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-checkpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const filled = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

/** A 2x2-pixel, 3-class linear model with a velocity per weight and a teacher copy: three kinds of state. */
function options(seed: number): SaveCheckpointOptions<{ kind: string }> {
  const state: StateDict = new Map([
    ['fc.weight', filled(12, (i) => Math.sin(i + 1))],
    ['velocity.fc.weight', filled(12, (i) => seed * 0.01 + i * 1e-3)],
    ['teacher.fc.weight', filled(12, (i) => Math.cos(i))],
  ]);
  const shapes = new Map([...state.keys()].map((k) => [k, [3, 4]]));
  return {
    meta: { kind: 'test' },
    state,
    shapes,
    inputShape: [1, 2, 2],
    companionPrefixes: ['velocity.', 'teacher.'],
    inference: ({ params, x }) => ({ logits: gemm(flatten(x), params.param('fc.weight', [3, 4], { kind: 'constant', value: 0 }), null, { transB: 1 }) }),
  };
}

function assertSameState(a: StateDict, b: StateDict): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a)
    assert.deepEqual(Buffer.from(b.get(k)!.buffer, b.get(k)!.byteOffset, b.get(k)!.byteLength), Buffer.from(v.buffer, v.byteOffset, v.byteLength), k);
}

describe('checkpoint companion files', () => {
  it('keeps each kind of extra state in its own content-named file and loads every tensor back exactly', () => {
    const path = join(dir, 'a', 'checkpoint.onnx');
    rmSync(join(dir, 'a'), { recursive: true, force: true });
    mkdirSync(join(dir, 'a'));
    const opts = options(1);
    saveCheckpoint(path, opts);
    const companions = companionFiles(path);
    assert.equal(companions.length, 2);
    assert.match(companions[0]!, /^checkpoint\.onnx\.teacher-[0-9a-f]{16}\.bin$/);
    assert.match(companions[1]!, /^checkpoint\.onnx\.velocity-[0-9a-f]{16}\.bin$/);
    for (const c of companions) assert.equal(statSync(join(dir, 'a', c)).size, 48);
    const inline = decodeModel(readFileSync(path))
      .graph.initializer.filter((t) => t.raw_data?.byteLength)
      .map((t) => t.name);
    assert.deepEqual(inline, ['fc.weight'], 'only the inference weights stay in the checkpoint file');
    const loaded = loadCheckpoint(path);
    assertSameState(loaded.state, opts.state);
    assert.deepEqual(loaded.shapes.get('velocity.fc.weight'), [3, 4]);
    assert.equal(loaded.meta.version, 2);
  });

  it('a new save replaces only the companions whose content changed, and removes the stale ones', () => {
    const path = join(dir, 'a', 'checkpoint.onnx');
    const before = companionFiles(path);
    const next = options(2);
    saveCheckpoint(path, next);
    const now = companionFiles(path);
    assert.equal(now[0], before[0], 'the teacher did not change, so neither did its file');
    assert.notEqual(now[1], before[1]);
    assert.equal(readdirSync(join(dir, 'a')).length, 3, 'checkpoint + two companions, no stale or temporary files');
    assertSameState(loadCheckpoint(path).state, next.state);
  });

  it('a crash after writing the new companions but before the checkpoint leaves the old checkpoint loadable', () => {
    const path = join(dir, 'a', 'checkpoint.onnx');
    const old = loadCheckpoint(path).state;
    const { companions } = encodeCheckpointFiles(options(3), 'checkpoint.onnx');
    for (const c of companions) writeFileSync(join(dir, 'a', c.name), c.bytes);
    assertSameState(loadCheckpoint(path).state, old);
    saveCheckpoint(path, options(3));
    assert.equal(companionFiles(path).length, 2, 'the next save removes what the crash left');
  });

  it('a missing or damaged companion, or bytes decoded without their folder, give a one-line error', () => {
    const path = join(dir, 'a', 'checkpoint.onnx');
    const velocity = join(dir, 'a', companionFiles(path)[1]!);
    const bytes = readFileSync(velocity);
    const damaged = Buffer.from(bytes);
    damaged[5] = damaged[5]! ^ 0xff;
    writeFileSync(velocity, damaged);
    assert.throws(
      () => loadCheckpoint(path),
      /^Error: .*checkpoint\.onnx: companion file checkpoint\.onnx\.velocity-[0-9a-f]{16}\.bin is damaged or truncated \(its content does not match its name\); restore it, or use another checkpoint$/,
    );
    writeFileSync(velocity, bytes.subarray(0, 20));
    assert.throws(() => loadCheckpoint(path), /is damaged or truncated/);
    unlinkSync(velocity);
    assert.throws(
      () => loadCheckpoint(path),
      /^Error: .*checkpoint\.onnx needs its companion file checkpoint\.onnx\.velocity-[0-9a-f]{16}\.bin beside it; copy the checkpoint together with its \.bin companions$/,
    );
    assert.throws(
      () => decodeCheckpoint(readFileSync(path), 'x.onnx'),
      /^Error: x\.onnx: tensor .* lives in the companion file .*; load the checkpoint from its file/,
    );
  });

  it('a checkpoint with companions is still a model onnxruntime runs from its path, with the same outputs', async () => {
    const path = join(dir, 'b.onnx');
    const opts = options(1);
    saveCheckpoint(path, opts);
    const inline = join(dir, 'inline.onnx');
    writeFileSync(inline, encodeCheckpoint(opts));
    const x = new ort.Tensor(
      'float32',
      filled(8, (i) => i / 7),
      [2, 1, 2, 2],
    );
    const a = (await (await ort.InferenceSession.create(path)).run({ input: x }))['logits']!.data as Float32Array;
    const b = (await (await ort.InferenceSession.create(inline)).run({ input: x }))['logits']!.data as Float32Array;
    assert.deepEqual([...a], [...b]);
    assertSameState(loadCheckpoint(inline).state, opts.state);
  });

  it('a checkpoint without resume-only state is a single file; by default only velocities are resume-only', () => {
    const opts = options(1);
    const state = new Map([
      ['fc.weight', opts.state.get('fc.weight')!],
      ['stats.means', filled(12, (i) => i)],
    ]);
    const path = join(dir, 'c.onnx');
    saveCheckpoint(path, { ...opts, state, shapes: new Map([...opts.shapes, ['stats.means', [3, 4]]]) });
    assert.deepEqual(companionFiles(path), []);
    assert.ok(existsSync(path));
    assertSameState(loadCheckpoint(path).state, state);
    const byDefault = join(dir, 'd.onnx');
    saveCheckpoint(byDefault, { ...opts, companionPrefixes: undefined });
    assert.deepEqual(
      companionFiles(byDefault).map((f) => f.replace(/-[0-9a-f]{16}/, '')),
      ['d.onnx.velocity.bin'],
    );
    assertSameState(loadCheckpoint(byDefault).state, opts.state);
  });

  it('a checkpoint from a newer onnx-cil is refused by name, whatever version its metadata carried in', () => {
    const opts = { ...options(1), meta: { kind: 'test', version: 1 } };
    const model = decodeModel(encodeCheckpoint(opts));
    const entry = model.metadata_props!.find((p) => p.key === CHECKPOINT_META_KEY)!;
    assert.equal(JSON.parse(entry.value).version, 2, 'the writer stamps its own format');
    entry.value = JSON.stringify({ ...JSON.parse(entry.value), version: 3 });
    assert.throws(() => decodeCheckpoint(encodeModel(model), 'new.onnx'), /^Error: new\.onnx uses checkpoint format 3, this onnx-cil reads up to 2$/);
  });
});
