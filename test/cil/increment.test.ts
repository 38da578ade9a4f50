import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCilCheckpoint } from '../../src/cil/checkpoint.js';
import { incrementModel } from '../../src/cil/increment.js';
import { runProtocol } from '../../src/cil/run.js';
import { temporaryFolder, tinyProtocol, writeClassImage, writeImageFolder } from './helpers.js';

test('increment learns new classes from an image folder, and rejects bad input before training', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), ['c0', 'c1'], 16);
  await writeImageFolder(join(root, 'data', 'val'), ['c0', 'c1'], 4);
  const run = join(root, 'run');
  await runProtocol({ protocol: tinyProtocol(0, 2), preset: 'tiny', method: 'spb', dataPath: join(root, 'data'), outDir: run, threads: 1, workers: 0 });
  const trained: string[] = [];
  const hooks = { onStep: () => void trained.push('step') };

  // A class the model already knows.
  const known = join(root, 'known');
  await writeImageFolder(known, ['c1', 'new-a'], 3);
  await assert.rejects(incrementModel({ from: run, data: known, threads: 1 }, hooks), /already knows "c1"/);
  // The command reports it as one clear line and a failing exit code.
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'increment', '--from', run, '--data', known], { encoding: 'utf8' });
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /onnx-cil: error: the model already knows "c1"/);
  // An empty class folder.
  const empty = join(root, 'empty');
  await writeImageFolder(empty, ['new-a'], 3);
  mkdirSync(join(empty, 'new-b'));
  await assert.rejects(incrementModel({ from: run, data: empty, threads: 1 }, hooks), /"new-b" .*no PNG\/JPEG images/);
  // Images of the wrong size (the model takes 8x8).
  const wrong = join(root, 'wrong');
  mkdirSync(join(wrong, 'new-a'), { recursive: true });
  await writeClassImage(join(wrong, 'new-a', 'big.png'), 2, 0, 12);
  await assert.rejects(incrementModel({ from: run, data: wrong, threads: 1 }, hooks), /big\.png is 12x12; this model takes 8x8/);
  // A class named on the command line that has no folder.
  await assert.rejects(incrementModel({ from: run, data: empty, classes: ['nope'], threads: 1 }, hooks), /no class folder "nope"/);
  assert.equal(trained.length, 0, 'no training step ran for rejected input');

  // Good input: the new classes are appended and their names travel with the model.
  const fresh = join(root, 'fresh');
  await writeImageFolder(fresh, ['new-a', 'new-b'], 8, { offset: 2 });
  const result = await incrementModel({ from: run, data: fresh, threads: 1, workers: 0 }, hooks);
  assert.ok(trained.length > 0);
  assert.equal(result.checkpoint, join(run, 'phase-1.onnx'));
  assert.deepEqual(result.classNames, ['c0', 'c1', 'new-a', 'new-b']);
  const { meta, state } = loadCilCheckpoint(result.checkpoint);
  assert.deepEqual(meta.classNames, ['c0', 'c1', 'new-a', 'new-b']);
  assert.equal(meta.phase, 1);
  assert.equal(state.weights.get('fc.weight')!.length, 4 * 128);
  // Writing the same phase again would overwrite it: refused.
  await assert.rejects(incrementModel({ from: join(run, 'phase-0.onnx'), data: fresh, threads: 1 }), /already exists/);
  // The run folder now resolves to the new phase, so a further increment builds on it.
  const more = join(root, 'more');
  await writeImageFolder(more, ['new-a'], 3);
  await assert.rejects(incrementModel({ from: run, data: more, threads: 1 }), /already knows "new-a"/);
});
