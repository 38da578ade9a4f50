/**
 * The `train` command end to end on a small Fashion-MNIST slice: JSON output, checkpoints, a kill mid-epoch
 * followed by --resume (which must end exactly like an uninterrupted run), and clear errors for bad checkpoints.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
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
  for (const [split, per, prefix] of [
    ['train', trainPerClass, 'train'],
    ['test', testPerClass, 't10k'],
  ] as const) {
    const ds = loadDataset('fashion-mnist-mini', split);
    const taken: number[] = [];
    const counts = new Array(10).fill(0);
    for (let i = 0; i < ds.count; i++) if (counts[ds.labels[i]!]++ < per) taken.push(i);
    const images = new Uint8Array(taken.length * 784);
    for (const [k, src] of taken.entries()) images.set(ds.images.subarray(src * 784, (src + 1) * 784), k * 784);
    const labels = Uint8Array.from(taken, (i) => ds.labels[i]!);
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(encodeIdx({ dataType: 'uint8', dims: [taken.length, 28, 28], data: images })));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(encodeIdx({ dataType: 'uint8', dims: [taken.length], data: labels })));
  }
}

const data = join(work, 'fmnist-slice');
writeSlice(data, 64, 20);
const baseArgs = [
  '--import',
  'tsx',
  cli,
  'train',
  '--dataset',
  'fashion-mnist',
  '--data',
  data,
  '--model',
  'convnet',
  '--epochs',
  '3',
  '--batch-size',
  '32',
  '--threads',
  '1',
  '--workers',
  '0',
  '--seed',
  '4',
];

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
  assert.deepEqual(
    summary.inputs.map((i) => i.shape),
    [[-1, 1, 28, 28]],
  );
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
  assert.deepEqual(
    a.history.map((h: { loss: number }) => h.loss),
    b.history.map((h: { loss: number }) => h.loss),
  );
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

/** The CLI run asynchronously, so that independent quick failures start together. */
function runAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, ONNX_CIL_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

test('bad flags, a batch larger than the data and a class-incremental folder are one-line errors before any work', async () => {
  const cilRun = join(work, 'cil-run');
  mkdirSync(cilRun, { recursive: true });
  writeFileSync(
    join(cilRun, 'config.json'),
    JSON.stringify({ preset: 'fmnist-mini-b5-p5', method: 'spb', methodConfig: {}, epochsScale: 1, protocol: { name: 'fmnist-mini-b5-p5' } }),
  );
  const big = join(work, 'big-batch');
  const train = ['--import', 'tsx', cli, 'train', '--dataset', 'fashion-mnist', '--data', data, '--threads', '1', '--workers', '0'];
  const cases: [string[], string][] = [
    [[...train, '--momentum', '2', '--out', join(work, 'm')], '--momentum must be a number from 0 to 1, got 2'],
    [[...train, '--threads', '0.5', '--out', join(work, 't')], '--threads must be a positive integer, got 0.5'],
    [[...train, '--epochs', 'many', '--out', join(work, 'e')], '--epochs must be a positive integer, got something that is not a number'],
    [
      [...train, '--batch-size', '1000000000', '--out', big],
      `--batch-size 1000000000 is larger than the 640 training images of fashion-mnist/train; use at most 640`,
    ],
    [
      [...train, '--resume', '--out', cilRun],
      `${cilRun} holds a class-incremental run (written by \`onnx-cil run\`), not a \`train\` run; continue it with \`onnx-cil run --resume --out ${cilRun}\`, or choose another --out`,
    ],
    [[...train, '--resume', '--force', '--out', cilRun], '--resume continues the run in --out and --force replaces it: give one of them'],
  ];
  const results = await Promise.all(cases.map(([args]) => runAsync(args)));
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `onnx-cil: error: ${cases[i]![1]}\n`);
  }
  assert.ok(!existsSync(big), 'a rejected batch size creates no folder');
});

test('train never replaces a finished run without --resume or --force', () => {
  const out = join(work, 'finished');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'checkpoint.onnx'), 'the trained model');
  writeFileSync(join(out, 'metrics.json'), '{}');
  const refused = run([...baseArgs, '--out', out]);
  assert.equal(refused.status, 1);
  assert.equal(
    refused.stderr,
    `onnx-cil: error: ${out} already holds a run (checkpoint.onnx, metrics.json); pass --resume to continue it, --force to replace it, or choose another --out\n`,
  );
  assert.equal(readFileSync(join(out, 'checkpoint.onnx'), 'utf8'), 'the trained model');
  const forced = run([...baseArgs, '--out', out, '--force', '--json']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stderr, /--force: removed the previous run in /);
  assert.equal(loadCheckpoint<{ completedEpochs: number }>(join(out, 'checkpoint.onnx')).meta.completedEpochs, 3);
  // The previous run's files are gone; the new checkpoint keeps its optimiser state in one companion file.
  assert.deepEqual(
    readdirSync(out)
      .sort()
      .map((f) => f.replace(/-[0-9a-f]{16}\.bin$/, '.bin')),
    ['checkpoint.onnx', 'checkpoint.onnx.velocity.bin', 'config.json', 'metrics.json'],
  );
});
