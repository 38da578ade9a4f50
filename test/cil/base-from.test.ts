import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import { resolveMethod } from '../../src/cil/methods/index.js';
import { phaseZeroIdentity, runProtocol, type RunOptions } from '../../src/cil/run.js';
import { temporaryFolder, tinyProtocol, writeImageFolder } from './helpers.js';

const CLASSES = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];

test('phase 0 is shared between protocols that differ only after it (5- vs 10-phase splits) and refused when the base differs', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), CLASSES, 16);
  await writeImageFolder(join(root, 'data', 'val'), CLASSES, 4);
  const common: Omit<RunOptions, 'outDir' | 'protocol'> = { preset: 'tiny', method: 'proto', dataPath: join(root, 'data'), threads: 1, workers: 0 };

  // Two phases of two classes, as cifar100-b50-p5 is to cifar100-b50-p10's phases of five.
  const coarse = tinyProtocol(2, 6);
  coarse.increment = 2;
  const coarseRun = await runProtocol({ ...common, protocol: coarse, outDir: join(root, 'coarse') });
  assert.deepEqual(
    coarseRun.phases.map((p) => p.classesSeen),
    [2, 4, 6],
  );

  const fine = tinyProtocol(4, 6);
  const fineRun = await runProtocol({ ...common, protocol: fine, method: 'spb', outDir: join(root, 'fine'), baseFrom: join(root, 'coarse') });
  assert.deepEqual(
    fineRun.phases.map((p) => p.classesSeen),
    [2, 3, 4, 5, 6],
  );
  assert.deepEqual(fineRun.phases[0], coarseRun.phases[0], 'phase 0 is taken over, evaluation included');
  assert.deepEqual(loadCilCheckpoint(join(root, 'fine', 'phase-0.onnx')).state.weights, loadCilCheckpoint(join(root, 'coarse', 'phase-0.onnx')).state.weights);

  // Whatever phase 0 depends on must match: base classes, base schedule, seed, class order.
  const moreBase = tinyProtocol(3, 6);
  moreBase.baseClasses = 3;
  const otherSchedule = tinyProtocol(4, 6);
  otherSchedule.schedules.base.epochs = 3;
  const otherSeed = tinyProtocol(4, 6);
  otherSeed.seed = 4;
  const otherOrder = tinyProtocol(4, 6);
  otherOrder.classOrder = { kind: 'explicit', classes: [1, 0, 2, 3, 4, 5] };
  const validation = tinyProtocol(4, 6);
  validation.validationFraction = 0.25;
  for (const [name, protocol] of Object.entries({ moreBase, otherSchedule, otherSeed, otherOrder, validation })) {
    await assert.rejects(
      runProtocol({ ...common, protocol, outDir: join(root, name), baseFrom: join(root, 'coarse') }),
      /--base-from .* other data, model, class order, base schedule, seed, validation split or epochs scale/,
      name,
    );
  }
});

test('phase 0 is shared only between methods that train it identically', () => {
  assert.equal(resolveMethod('spb').policy.basePhaseLoss, undefined);
  assert.equal(phaseZeroIdentity('spb', {}), phaseZeroIdentity('ft', { classifierInit: 'prototype' }));
  assert.notEqual(phaseZeroIdentity('spb', {}), phaseZeroIdentity('spb-m', {}));
  assert.equal(
    phaseZeroIdentity('spb-m', { distillation: false, readout: 'ensemble', rotations: 4 }),
    phaseZeroIdentity('spb-m', { readout: 'ensemble', rotations: 4 }),
  );
  assert.notEqual(phaseZeroIdentity('spb-i', { selfSupervised: 'rotation' }), phaseZeroIdentity('spb-i', { selfSupervised: 'contrastive' }));
});

test('a validation run trains on part of the training images and evaluates on the held-out rest, never the test set', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), CLASSES.slice(0, 4), 16);
  await writeImageFolder(join(root, 'data', 'val'), CLASSES.slice(0, 4), 4);
  const protocol = tinyProtocol(2, 4);
  protocol.validationFraction = 0.25;
  const run = await runProtocol({ protocol, preset: 'tiny', method: 'proto', dataPath: join(root, 'data'), threads: 1, workers: 0, outDir: join(root, 'run') });
  // 4 of every class's 16 training images are held out: 8, 12, 16 evaluation images as classes arrive (the test set has 4 per class).
  assert.deepEqual(
    run.phases.map((p) => p.testImages),
    [8, 12, 16],
  );
  // 12 training images per class remain: phase 0 trains on 24 of them per epoch (batches of 8).
  assert.equal(run.phases[0]!.trainImages, 2 * 24);
});
