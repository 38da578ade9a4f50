/**
 * Runs and increments never lose work: a folder holding a run is refused without resume or force, two writers
 * into one folder are kept apart, a bad output folder fails before training, a damaged phase file stops a resume,
 * temporaries of killed processes are swept, and failures leave no temporary or lock file behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { incrementModel } from '../../src/cil/increment.js';
import { runProtocol, type RunOptions } from '../../src/cil/run.js';
import { loadExportSource } from '../../src/export/index.js';
import { parseTrainConfig, trainClassifier } from '../../src/train/classifier.js';
import { LOCK_FILE } from '../../src/util/lock.js';
import { temporaryFolder, tinyProtocol, writeImageFolder } from './helpers.js';

/** Temporary and lock files in a folder: there must be none once a job has ended, however it ended. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.tmp-\d+$/.test(f) || f === LOCK_FILE || f.startsWith('.onnx-cil-write-test'));
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('run: one writer per folder, no replacement without force, damaged phase files stop a resume', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), ['c0', 'c1', 'c2'], 16);
  await writeImageFolder(join(root, 'data', 'val'), ['c0', 'c1', 'c2'], 4);
  const base: Omit<RunOptions, 'outDir'> = {
    protocol: tinyProtocol(1, 3),
    preset: 'tiny',
    method: 'spb',
    dataPath: join(root, 'data'),
    threads: 1,
    workers: 0,
  };
  const out = join(root, 'run');

  // A second run into the folder while the first holds it is refused at once; the first then fails mid-phase.
  const first = runProtocol(
    { ...base, outDir: out },
    {
      onEpoch: (e) => {
        if (e.phase === 1) throw new Error('simulated kill');
      },
    },
  );
  await assert.rejects(
    runProtocol({ ...base, outDir: out }),
    new RegExp(`^Error: ${escapeRegExp(out)} is in use by process ${process.pid} on .* \\(run spb, since .*\\); wait for it to finish or choose another --out`),
  );
  await assert.rejects(first, /simulated kill/);
  assert.deepEqual(leftovers(out), [], 'a failed run leaves no lock or temporary file');

  // A killed writer's temporary file, and a truncated earlier phase: the resume names the file and what to do.
  const phase0 = join(out, 'phase-0.onnx');
  const good = readFileSync(phase0);
  truncateSync(phase0, Math.floor(good.length / 3));
  await assert.rejects(runProtocol({ ...base, outDir: out, resume: true }), (err: Error) =>
    new RegExp(`^cannot resume: ${escapeRegExp(phase0)} is damaged \\(.*corrupt or truncated.*\\); restore it, or start the run again with --force$`).test(
      err.message,
    ),
  );
  writeFileSync(phase0, good);
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(join(out, `checkpoint.onnx.tmp-${dead}`), 'partial');
  const infos: string[] = [];
  const resumed = await runProtocol({ ...base, outDir: out, resume: true }, { onInfo: (m) => infos.push(m) });
  assert.equal(resumed.phases.length, 2);
  assert.ok(infos.includes(`removed 1 temporary file of killed processes from ${out}`), infos.join('\n'));
  assert.deepEqual(leftovers(out), []);

  // A finished run is never replaced silently.
  const before = readFileSync(join(out, 'phase-1.onnx'));
  await assert.rejects(
    runProtocol({ ...base, outDir: out }),
    (err: Error) =>
      err.message ===
      `${out} already holds a run (checkpoint.onnx, metrics.json, phase-0.onnx); pass --resume to continue it, --force to replace it, or choose another --out`,
  );
  assert.deepEqual(readFileSync(join(out, 'phase-1.onnx')), before);
  const forced: string[] = [];
  await runProtocol({ ...base, method: 'ft', outDir: out, force: true }, { onInfo: (m) => forced.push(m) });
  assert.ok(forced.includes(`--force: removed the previous run in ${out}`));
  assert.equal(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).method, 'ft');
  assert.deepEqual(leftovers(out), []);

  // Bad seeds and scales are plain errors before anything is created.
  await assert.rejects(
    runProtocol({ ...base, protocol: { ...base.protocol, seed: 1.5 }, outDir: join(root, 'x') }),
    /^Error: the seed must be an integer, got 1\.5$/,
  );
  await assert.rejects(runProtocol({ ...base, epochsScale: Number.NaN, outDir: join(root, 'x') }), /^Error: the epochs scale must be a number > 0, got NaN$/);
  assert.ok(!existsSync(join(root, 'x')));
});

test('increment: output checked before training, one writer per folder, --force to replace, no stale accuracy', async (t) => {
  const root = temporaryFolder(t);
  await writeImageFolder(join(root, 'data', 'train'), ['c0', 'c1'], 16);
  await writeImageFolder(join(root, 'data', 'val'), ['c0', 'c1'], 4);
  const run = join(root, 'run');
  await runProtocol({ protocol: tinyProtocol(0, 2), preset: 'tiny', method: 'spb', dataPath: join(root, 'data'), outDir: run, threads: 1, workers: 0 });
  const fresh = join(root, 'fresh');
  await writeImageFolder(fresh, ['new-a'], 8, { offset: 2 });
  let steps = 0;
  const hooks = { onStep: () => void steps++ };

  // An output folder that cannot exist fails before any image is decoded or step trained.
  writeFileSync(join(root, 'file'), 'x');
  await assert.rejects(
    incrementModel({ from: run, data: fresh, out: join(root, 'file', 'next.onnx'), threads: 1, workers: 0 }, hooks),
    /^Error: cannot create the folder .*file: .*file is a file, not a folder; choose another --out$/,
  );
  assert.equal(steps, 0);

  // Two increments into one folder at once: the second is refused, the first completes.
  const first = incrementModel({ from: run, data: fresh, threads: 1, workers: 0 }, hooks);
  await assert.rejects(
    incrementModel({ from: run, data: fresh, threads: 1, workers: 0 }),
    new RegExp(`^Error: ${escapeRegExp(run)} is in use by process ${process.pid} .*\\(increment, since`),
  );
  const result = await first;
  assert.ok(steps > 0);
  assert.deepEqual(leftovers(run), []);

  // The new phase has no test evaluation: its export records no accuracy rather than phase 0's.
  assert.equal(typeof loadExportSource(join(run, 'phase-0.onnx')).accuracy, 'number');
  assert.equal(loadExportSource(run).path, result.checkpoint);
  assert.equal(loadExportSource(run).accuracy, undefined);

  // Replacing the phase needs --force.
  const before = readFileSync(result.checkpoint);
  await assert.rejects(
    incrementModel({ from: join(run, 'phase-0.onnx'), data: fresh, threads: 1, workers: 0 }),
    (err: Error) => err.message === `${result.checkpoint} already exists; pass --force to replace it, or choose another --out (nothing was overwritten)`,
  );
  assert.deepEqual(readFileSync(result.checkpoint), before);
  await incrementModel({ from: join(run, 'phase-0.onnx'), data: fresh, seed: 9, threads: 1, workers: 0, force: true });
  assert.notDeepEqual(readFileSync(result.checkpoint), before);
  assert.deepEqual(leftovers(run), []);
  await assert.rejects(incrementModel({ from: run, data: fresh, seed: 0.5 }), /^Error: the seed must be an integer, got 0\.5$/);

  // `train --resume` pointed at a class-incremental checkpoint says what it is instead of failing inside.
  const mixed = join(root, 'mixed');
  mkdirSync(mixed);
  copyFileSync(join(run, 'phase-0.onnx'), join(mixed, 'checkpoint.onnx'));
  await assert.rejects(
    trainClassifier(parseTrainConfig({ dataset: 'fashion-mnist-mini', epochs: 1, threads: 1, workers: 0 }), { outDir: mixed, resume: true }),
    (err: Error) =>
      err.message ===
      `${join(mixed, 'checkpoint.onnx')} was written by a "cil" job, not by \`train\`; continue a class-incremental run with \`onnx-cil run --resume\`, or choose another --out`,
  );
  assert.deepEqual(leftovers(mixed), []);
  assert.throws(() => parseTrainConfig({ momentum: 2, batchSize: 0.5 }), /^Error: invalid option: --batch-size: .*expected int.*; --momentum: .*<=1$/);
});
