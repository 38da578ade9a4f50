import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { classCounts } from '../../src/data/dataset.js';
import { datasetCacheDir, datasetCacheRoot, DatasetNotFoundError, locateDataset } from '../../src/data/locate.js';
import { DATASETS, datasetNames, getDatasetSpec, loadDataset } from '../../src/data/registry.js';
import { packageRoot } from '../../src/util/package-root.js';
import { repoRoot, sharedFolder, temporaryFolder } from './helpers.js';

const fashion = getDatasetSpec('fashion-mnist');
const cifar = getDatasetSpec('cifar-100');
const fashionTestFiles = ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

/** Empty stand-ins: locating only checks that the files exist. */
function placeFiles(dir: string, names: string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const name of names) writeFileSync(join(dir, name), '');
  return dir;
}

test('search order: --data, then ONNX_CIL_DATA, then the download cache', (t) => {
  const root = temporaryFolder(t);
  const explicit = placeFiles(join(root, 'explicit'), fashionTestFiles);
  const envRoot = join(root, 'env');
  const envDir = placeFiles(join(envRoot, 'fashion-mnist'), fashionTestFiles);
  const env = { ONNX_CIL_DATA: envRoot, XDG_CACHE_HOME: join(root, 'xdg') };
  const cacheDir = placeFiles(datasetCacheDir('fashion-mnist', env), fashionTestFiles);
  assert.equal(cacheDir, join(root, 'xdg', 'onnx-cil', 'datasets', 'fashion-mnist'));

  const fromData = locateDataset(fashion, 'test', { dataPath: explicit, env });
  assert.deepEqual([fromData.source, fromData.dir], ['data-path', explicit]);
  assert.equal(fromData.files['t10k-images-idx3-ubyte.gz'], join(explicit, 't10k-images-idx3-ubyte.gz'));
  assert.deepEqual([locateDataset(fashion, 'test', { env }).source, locateDataset(fashion, 'test', { env }).dir], ['env', envDir]);
  const withoutEnv = locateDataset(fashion, 'test', { env: { XDG_CACHE_HOME: env.XDG_CACHE_HOME } });
  assert.deepEqual([withoutEnv.source, withoutEnv.dir], ['cache', cacheDir]);
  // An ONNX_CIL_DATA folder without this dataset falls through to the cache.
  const emptyEnv = locateDataset(fashion, 'test', { env: { ...env, ONNX_CIL_DATA: join(root, 'explicit-missing') } });
  assert.equal(emptyEnv.source, 'cache');
});

test('data roots may hold the files directly or under the distribution folder name, plain or gzip', (t) => {
  const root = temporaryFolder(t);
  placeFiles(join(root, 'cifar-100-binary'), ['test.bin', 'fine_label_names.txt']);
  const found = locateDataset(cifar, 'test', { env: { ONNX_CIL_DATA: root, HOME: root } });
  assert.equal(found.dir, join(root, 'cifar-100-binary'));
  assert.equal(found.files['test.bin.gz'], join(root, 'cifar-100-binary', 'test.bin'));
  const direct = locateDataset(cifar, 'test', { dataPath: join(root, 'cifar-100-binary'), env: {} });
  assert.equal(direct.source, 'data-path');
  assert.throws(() => locateDataset(cifar, 'train', { dataPath: root, env: {} }), /lacks train\.bin\.gz or train\.bin/);
});

test('an explicit --data that lacks the files is an error, not a fallback', (t) => {
  const root = temporaryFolder(t);
  const env = { XDG_CACHE_HOME: join(root, 'xdg') };
  placeFiles(datasetCacheDir('fashion-mnist', env), fashionTestFiles);
  const wrong = placeFiles(join(root, 'wrong'), ['t10k-images-idx3-ubyte.gz']);
  assert.throws(
    () => locateDataset(fashion, 'test', { dataPath: wrong, env }),
    (error: Error) => {
      assert.ok(error instanceof DatasetNotFoundError);
      assert.match(error.message, /not found at --data .*wrong: .*lacks t10k-labels-idx1-ubyte\.gz or t10k-labels-idx1-ubyte/);
      assert.match(error.message, /onnx-cil data fetch fashion-mnist/);
      return true;
    },
  );
});

test('a missing dataset error lists every place searched and how to get it', (t) => {
  const root = temporaryFolder(t);
  const env = { ONNX_CIL_DATA: join(root, 'data'), XDG_CACHE_HOME: join(root, 'xdg') };
  mkdirSync(env.ONNX_CIL_DATA);
  assert.throws(
    () => loadDataset('cifar-100', 'train', { env }),
    (error: Error) => {
      assert.ok(error instanceof DatasetNotFoundError);
      assert.equal(error.searched.length, 2);
      assert.match(error.message, /dataset "cifar-100" \(train split: train\.bin\.gz or train\.bin, fine_label_names\.txt\) not found/);
      assert.match(error.message, new RegExp(`ONNX_CIL_DATA: ${env.ONNX_CIL_DATA} lacks`));
      assert.match(error.message, /download cache: .*xdg\/onnx-cil\/datasets\/cifar-100 \(not present\)/);
      assert.match(error.message, /`onnx-cil data fetch cifar-100`/);
      assert.match(error.message, /`--data PATH`/);
      return true;
    },
  );
  assert.throws(() => loadDataset('fashion-mnist', 'test', { env: { HOME: root } }), /ONNX_CIL_DATA: not set/);
});

test('cache root honours XDG_CACHE_HOME, else HOME/.cache', () => {
  assert.equal(datasetCacheRoot({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }), '/x/cache/onnx-cil/datasets');
  assert.equal(datasetCacheRoot({ HOME: '/home/u' }), '/home/u/.cache/onnx-cil/datasets');
});

test('the registry is frozen and names unknown datasets clearly', () => {
  assert.deepEqual(datasetNames(), ['fashion-mnist', 'fashion-mnist-mini', 'cifar-100']);
  assert.ok(Object.isFrozen(DATASETS));
  assert.ok(Object.isFrozen(getDatasetSpec('cifar-100')));
  assert.ok(Object.isFrozen(getDatasetSpec('cifar-100').mirrorFiles));
  assert.throws(() => getDatasetSpec('mnist'), /unknown dataset "mnist"; known datasets: fashion-mnist, fashion-mnist-mini, cifar-100/);
  assert.throws(() => getDatasetSpec('toString'), /unknown dataset/);
  const handMade = { dir: '/nowhere', source: 'data-path' as const, files: {} };
  assert.throws(() => getDatasetSpec('cifar-100').read(handMade, 'test'), /\/nowhere: fine_label_names\.txt is not among the located files \(none\)/);
  assert.equal(getDatasetSpec('cifar-100').classNames[99], 'worm');
  const download = getDatasetSpec('cifar-100').download;
  assert.equal(download?.kind === 'tar.gz' && download.url, 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz');
  const fashion = getDatasetSpec('fashion-mnist').download;
  assert.equal(fashion?.kind === 'files' && fashion.baseUrl, 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/');
});

test('the embedded fashion-mnist-mini loads from the package and matches its README', () => {
  assert.equal(packageRoot(), repoRoot);
  const train = loadDataset('fashion-mnist-mini', 'train', { env: {} });
  const test = loadDataset('fashion-mnist-mini', 'test', { env: {} });
  assert.equal(train.name, 'fashion-mnist-mini/train');
  assert.deepEqual(Array.from(classCounts(train)), new Array(10).fill(580));
  assert.deepEqual(Array.from(classCounts(test)), new Array(10).fill(100));
  assert.deepEqual([train.channels, train.height, train.width], [1, 28, 28]);
  assert.equal(train.classNames[9], 'Ankle boot');
  const dir = join(repoRoot, 'data', 'fashion-mnist-mini');
  assert.equal(locateDataset(getDatasetSpec('fashion-mnist-mini'), 'train', { env: {} }).source, 'embedded');
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  assert.match(readme, /MIT/);
  assert.match(readme, /Zalando/);
  let total = 0;
  let listed = 0;
  for (const match of readme.matchAll(/^\| (\S+\.gz) \| (\d+) \| ([0-9a-f]{64}) \|$/gm)) {
    const bytes = readFileSync(join(dir, match[1]!));
    assert.equal(bytes.length, Number(match[2]), match[1]);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), match[3], match[1]);
    total += bytes.length;
    listed++;
  }
  assert.equal(listed, 4);
  assert.ok(total > 2_000_000 && total <= 3_000_000, `embedded files take ${total} bytes`);
});

test('the embedded test subset is the first 100 test images per class of the original file', (t) => {
  const test = loadDataset('fashion-mnist-mini', 'test', { env: {} });
  const original = sharedFolder(t, 'fashion-mnist');
  if (!original || !existsSync(join(original, 't10k-images-idx3-ubyte.gz'))) return;
  const full = loadDataset('fashion-mnist', 'test', { dataPath: original, env: {} });
  const taken = new Array(10).fill(0);
  const expected: number[] = [];
  for (let i = 0; i < full.count; i++) if (taken[full.labels[i]!]++ < 100) expected.push(i);
  assert.deepEqual(
    Array.from(test.labels),
    expected.map((i) => full.labels[i]),
  );
  const expectedImages = Buffer.concat(expected.map((i) => full.images.subarray(i * 784, (i + 1) * 784)));
  assert.ok(expectedImages.equals(test.images));
});
