import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import ts from 'typescript';
import { makePlannedBatch, planEpoch, type Batch, type BatchPlan } from '../../src/data/batches.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { BatchPrefetcher, type PrefetchOptions } from '../../src/data/prefetch.js';
import { repoRoot, syntheticDataset, temporaryFolder } from './helpers.js';

const ds = syntheticDataset({ count: 300, channels: 3, height: 8, width: 8, classes: 6 });
const plan = planEpoch(ds, { batchSize: 32, seed: 1993, epoch: 4, augment: { padding: 2, flip: true } });

async function collect(dataset: ImageDataset, batchPlan: BatchPlan, options: PrefetchOptions): Promise<Batch[]> {
  const prefetcher = new BatchPrefetcher(dataset, batchPlan, options);
  const batches: Batch[] = [];
  try {
    for await (const batch of prefetcher) batches.push(batch);
  } finally {
    await prefetcher.close();
  }
  return batches;
}

test('worker and in-thread prefetching yield identical batches', async () => {
  const inThread = await collect(ds, plan, { workers: 0 });
  assert.equal(inThread.length, 10);
  assert.deepEqual(inThread[3], makePlannedBatch(ds, plan, 3));
  assert.deepEqual(await collect(ds, plan, { workers: 1, depth: 2 }), inThread);
  assert.deepEqual(await collect(ds, plan, { workers: 2, depth: 5 }), inThread);
});

test('a dataset not on a SharedArrayBuffer is shared once and gives the same batches', async () => {
  const unshared = { ...ds, images: new Uint8Array(ds.images) };
  assert.ok(!(unshared.images.buffer instanceof SharedArrayBuffer));
  assert.deepEqual(await collect(unshared, plan, { workers: 1 }), await collect(ds, plan, { workers: 0 }));
});

test('breaking out of the loop stops the workers; an empty plan yields nothing', async () => {
  const prefetcher = new BatchPrefetcher(ds, plan, { workers: 1, depth: 3 });
  let seen = 0;
  for await (const batch of prefetcher) {
    assert.equal(batch.size, 32);
    if (++seen === 2) break;
  }
  assert.equal(seen, 2);
  assert.deepEqual(await prefetcher.next(), { done: true, value: undefined });
  assert.deepEqual(await collect(ds, { ...plan, batches: [] }, { workers: 1 }), []);
});

test('a failure while building a batch in the worker reaches the consumer', async () => {
  const strictPlan: BatchPlan = { ...plan, labelMap: Int32Array.of(0, 1, 2, -1, -1, -1) };
  await assert.rejects(collect(ds, strictPlan, { workers: 1 }), /failed in the prefetch worker: .*has no output index in the label map/);
  await assert.rejects(collect(ds, strictPlan, { workers: 0 }), /has no output index in the label map/);
  assert.throws(() => new BatchPrefetcher(ds, plan, { workers: -1 }), /workers must be an integer >= 0/);
  assert.throws(() => new BatchPrefetcher(ds, plan, { depth: 0 }), /depth must be an integer >= 1/);
});

test('the compiled JavaScript prefetcher runs its worker under plain node', async (t) => {
  // Compile src/data (and the shared helpers it imports) like tsc does for dist/, then run it without tsx to
  // exercise the `.js` worker path.
  const out = temporaryFolder(t);
  writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'compiled-check', type: 'module' }));
  for (const folder of ['data', 'util']) {
    const sourceDir = join(repoRoot, 'src', folder);
    mkdirSync(join(out, 'src', folder), { recursive: true });
    for (const file of readdirSync(sourceDir).filter((name) => name.endsWith('.ts'))) {
      const { outputText } = ts.transpileModule(readFileSync(join(sourceDir, file), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
        fileName: file,
      });
      writeFileSync(join(out, 'src', folder, file.replace(/\.ts$/, '.js')), outputText);
    }
  }
  writeFileSync(
    join(out, 'check.js'),
    `import { BatchPrefetcher } from './src/data/prefetch.js';
import { makePlannedBatch, planEpoch } from './src/data/batches.js';
const count = 64, images = new Uint8Array(new SharedArrayBuffer(count * 3 * 4 * 4));
for (let i = 0; i < images.length; i++) images[i] = (i * 131) & 255;
const ds = { name: 'js', images, labels: Int32Array.from({ length: count }, (_, i) => i % 4), count, channels: 3, height: 4, width: 4,
  classNames: ['a', 'b', 'c', 'd'], mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] };
const plan = planEpoch(ds, { batchSize: 10, seed: 1, epoch: 0, augment: { padding: 1, flip: true } });
let i = 0, identical = true;
for await (const batch of new BatchPrefetcher(ds, plan, { workers: 1 })) {
  const expected = makePlannedBatch(ds, plan, i++);
  identical &&= expected.x.every((v, k) => v === batch.x[k]) && expected.y.every((v, k) => v === batch.y[k]);
}
console.log(JSON.stringify({ batches: i, identical, execArgv: process.execArgv }));
`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['check.js'], { cwd: out, timeout: 20000 });
  assert.deepEqual(JSON.parse(stdout), { batches: 7, identical: true, execArgv: [] });
});
