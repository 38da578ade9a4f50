/**
 * The `train` command end to end on a small Fashion-MNIST slice: JSON output, checkpoints, a kill mid-epoch
 * followed by --resume (which must end exactly like an uninterrupted run), and clear errors for bad checkpoints.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/data/idx.js';
import { loadDataset } from '../../src/data/registry.js';
import { inspectModel } from '../../src/cli/commands/inspect.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(repo, 'src/cli/main.ts');
const work = mkdtempSync(join(tmpdir(), 'onnx-cil-train-cli-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

/** A Fashion-MNIST-format folder with the first `perClass` images of each class of the embedded subset. */
function writeSlice(dir: string, trainPerClass: number, testPerClass: number): void {
  mkdirSync(dir, { recursive: true });
  for (const [split, per, prefix] of [['train', trainPerClass, 'train'], ['test', testPerClass, 't10k']] as const) {
    const ds = loadDataset('fashion-mnist-mini', split);
    const taken: number[] = [];
    const counts = new Array(10).fill(0);
    for (let i = 0; i < ds.count; i++) if (counts[ds.labels[i]!]++ < per) taken.push(i);
    const images = new Uint8Array(taken.length * 784);
    taken.forEach((src, k) => images.set(ds.images.subarray(src * 784, (src + 1) * 784), k * 784));
    const labels = Uint8Array.from(taken, (i) => ds.labels[i]!);
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(encodeIdx({ dataType: 'uint8', dims: [taken.length, 28, 28], data: images })));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(encodeIdx({ dataType: 'uint8', dims: [taken.length], data: labels })));
  }
}

const data = join(work, 'fmnist-slice');
writeSlice(data, 64, 20);
const baseArgs = ['--import', 'tsx', cli, 'train', '--dataset', 'fashion-mnist', '--data', data, '--model', 'convnet', '--epochs', '3', '--batch-size', '32', '--threads', '1', '--workers', '0', '--seed', '4'];

function run(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8', env: { ...process.env, ONNX_CIL_DEBUG: '' } });
}

test('train --json reports accuracy and writes an ONNX checkpoint any tool can open', () => {
  const out = join(work, 'plain');
  const r = run([...baseArgs, '--out', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(result.epochs, 3);
  assert.ok(result.testAccuracy > 0.2 && result.testAccuracy <= 1, `accuracy ${result.testAccuracy}`);
  assert.ok(result.imagesPerSecond > 0 && result.wallSeconds > 0);
  const summary = inspectModel(readFileSync(join(out, 'checkpoint.onnx')));
  assert.deepEqual(summary.inputs.map((i) => i.shape), [[-1, 1, 28, 28]]);
  assert.ok(summary.parameters > 200_000);
  const ckpt = loadCheckpoint<{ completedEpochs: number }>(join(out, 'checkpoint.onnx'));
  assert.equal(ckpt.meta.completedEpochs, 3);
  assert.ok(ckpt.state.has('velocity.conv1.weight'));
});

test('a run killed mid-epoch resumes with --resume and ends exactly like an uninterrupted run', async () => {
  const out = join(work, 'killed');
  const child = spawn(process.execPath, [...baseArgs, '--out', out], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Kill during the second epoch: after the first checkpoint exists.
  await new Promise<void>((resolveKill, reject) => {
    const timer = setInterval(() => {
      if (/epoch 1\/3:/.test(stderr)) {
        clearInterval(timer);
        setTimeout(() => {
          child.kill('SIGKILL');
          resolveKill();
        }, 150);
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error(`run ended before it could be killed:\n${stderr}`));
    });
  }).catch((e) => {
    if (!existsSync(join(out, 'checkpoint.onnx'))) throw e;
  });
  const resumed = run([...baseArgs, '--out', out, '--resume', '--json']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .* after epoch [12]/);
  const a = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!);
  const b = JSON.parse(readFileSync(join(work, 'plain', 'metrics.json'), 'utf8'));
  assert.equal(a.testAccuracy, b.testAccuracy);
  assert.deepEqual(a.history.map((h: { loss: number }) => h.loss), b.history.map((h: { loss: number }) => h.loss));
});

test('a truncated checkpoint gives a clear error, not a stack trace', () => {
  const out = join(work, 'corrupt');
  mkdirSync(out, { recursive: true });
  const bytes = readFileSync(join(work, 'plain', 'checkpoint.onnx'));
  writeFileSync(join(out, 'checkpoint.onnx'), bytes);
  truncateSync(join(out, 'checkpoint.onnx'), Math.floor(bytes.length / 2));
  const r = run([...baseArgs, '--out', out, '--resume']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /onnx-cil: error: .*checkpoint\.onnx is corrupt or truncated/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  writeFileSync(join(out, 'checkpoint.onnx'), 'not a model at all');
  const r2 = run([...baseArgs, '--out', out, '--resume']);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /corrupt or truncated|not an onnx-cil checkpoint/);
});

test('a missing dataset and an unknown model are clear errors', () => {
  const r = run(['--import', 'tsx', cli, 'train', '--dataset', 'fashion-mnist', '--data', join(work, 'nowhere'), '--out', join(work, 'x')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /onnx-cil: error: .*fashion-mnist/);
  const r2 = run(['--import', 'tsx', cli, 'train', '--model', 'resnet9000', '--out', join(work, 'y')]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /unknown model "resnet9000"; known models: convnet, resnet32, resnet18/);
});
