import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadProtocol, phaseGroups, protocolPresets, resolveClassOrder, scaleSchedule } from '../../src/cil/protocol.js';
import { resolveRunMethod, runProtocol } from '../../src/cil/run.js';

test('the default class order reproduces numpy.random.seed(1993); permutation(n)', () => {
  const order = { kind: 'numpy-permutation', seed: 1993 } as const;
  assert.deepEqual(resolveClassOrder(order, 100).slice(0, 10), [68, 56, 78, 8, 23, 84, 90, 65, 74, 76]);
  assert.deepEqual(resolveClassOrder(order, 10), [4, 2, 7, 6, 0, 3, 5, 8, 9, 1]);
  assert.deepEqual(resolveClassOrder({ kind: 'explicit', classes: [3, 1] }, 4), [3, 1]);
  assert.throws(() => resolveClassOrder({ kind: 'explicit', classes: [3, 3] }, 4), /twice/);
  assert.throws(() => resolveClassOrder({ kind: 'explicit', classes: [7] }, 4), /outside/);
});

test("presets carry the paper's numbers and split the class order into phases", () => {
  assert.deepEqual([...protocolPresets().keys()].sort(), [
    'cifar100-b50-p10',
    'cifar100-b50-p5',
    'cifar100-convnet-b50-p5',
    'fmnist-b5-p5',
    'fmnist-mini-b5-p5',
    'imagenet-subset-b50-p10',
    'imagenet-subset-b50-p5',
  ]);
  const paper = loadProtocol('cifar100-b50-p5');
  assert.equal(paper.model, 'resnet32');
  assert.deepEqual([paper.schedules.base.epochs, paper.schedules.base.milestones, paper.schedules.base.lr.backbone], [160, [80, 120], 0.1]);
  assert.deepEqual([paper.schedules.incremental.epochs, paper.schedules.incremental.milestones], [50, [30]]);
  assert.deepEqual(paper.schedules.incremental.lr, { backbone: 0.001, classifier: 0.01 });
  assert.equal(loadProtocol('cifar100-b50-p10').increment, 5);
  for (const name of ['cifar100-b50-p5', 'cifar100-b50-p10']) {
    assert.deepEqual(resolveRunMethod({ protocol: loadProtocol(name), method: 'gauss' }).config, { priorStrength: 2000, shrinkage: 0.01, rotations: 1 });
  }
  const fm = loadProtocol('fmnist-b5-p5');
  assert.deepEqual([fm.baseClasses, fm.increment, fm.incrementalPhases, fm.augmentation.padding], [5, 1, 5, 2]);
  assert.deepEqual(
    [fm.schedules.base.epochs, fm.schedules.base.milestones, fm.schedules.incremental.epochs, fm.schedules.incremental.milestones],
    [8, [6], 6, [4]],
  );
  const groups = phaseGroups(fm, resolveClassOrder(fm.classOrder, 10));
  assert.deepEqual(groups, [[4, 2, 7, 6, 0], [3], [5], [8], [9], [1]]);
  const c = loadProtocol('cifar100-convnet-b50-p5');
  assert.deepEqual(
    phaseGroups(c, resolveClassOrder(c.classOrder, 100)).map((g) => g.length),
    [50, 10, 10, 10, 10, 10],
  );
  assert.throws(() => phaseGroups(c, [1, 2, 3]), /needs 100 classes/);
  assert.throws(() => loadProtocol('no-such-preset'), /known presets: .*fmnist-b5-p5/);
});

test('--epochs-scale scales epochs and milestones in iterations, rounded, keeping at least one iteration', () => {
  assert.deepEqual(scaleSchedule({ epochs: 8, milestones: [6] }, 234, 1), { iterations: 1872, milestones: [1404], epochs: 8, batchesPerEpoch: 234 });
  // 6 epochs * 0.25 * 46 batches = 69 iterations (1.5 epochs); milestone 4 * 0.25 * 46 = 46.
  assert.deepEqual(scaleSchedule({ epochs: 6, milestones: [4] }, 46, 0.25), { iterations: 69, milestones: [46], epochs: 2, batchesPerEpoch: 46 });
  // 6 * 0.01 * 4 = 0.24 rounds to 0: a phase still trains one iteration; milestone 4 * 0.01 * 4 = 0.16 -> 0.
  assert.deepEqual(scaleSchedule({ epochs: 6, milestones: [4] }, 4, 0.01), { iterations: 1, milestones: [0], epochs: 1, batchesPerEpoch: 4 });
  // 2.5 rounds half up to 3.
  assert.equal(scaleSchedule({ epochs: 1, milestones: [] }, 10, 0.25).iterations, 3);
  assert.throws(() => scaleSchedule({ epochs: 1, milestones: [] }, 10, 0), /positive/);
});

test("a protocol's method settings start the run's method config, and invalid ones are refused before anything runs", async () => {
  const protocol = { ...loadProtocol('fmnist-mini-b5-p5'), methodConfig: { gauss: { priorStrength: 2000, shrinkage: 0.1 } } };
  assert.deepEqual(resolveRunMethod({ protocol, method: 'gauss' }).config, { priorStrength: 2000, shrinkage: 0.1, rotations: 1 });
  assert.deepEqual(resolveRunMethod({ protocol, method: 'gauss', methodConfig: { shrinkage: 0 } }).config, { priorStrength: 2000, shrinkage: 0, rotations: 1 });
  assert.equal(resolveRunMethod({ protocol, method: 'proto' }).method.name, 'proto');
  const outDir = join(tmpdir(), 'onnx-cil-never-created');
  await assert.rejects(
    runProtocol({ protocol: { ...protocol, methodConfig: { nope: {} } }, preset: 'x', method: 'gauss', outDir }),
    /protocol fmnist-mini-b5-p5, methodConfig: unknown method "nope"/,
  );
  await assert.rejects(
    runProtocol({ protocol: { ...protocol, methodConfig: { gauss: { shrinkage: -1 } } }, preset: 'x', method: 'proto', outDir }),
    /protocol fmnist-mini-b5-p5, methodConfig: invalid gauss config/,
  );
  assert.ok(!existsSync(outDir), 'nothing is written for a refused protocol');
});
