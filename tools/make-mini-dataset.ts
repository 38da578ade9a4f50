/**
 * Builds data/fashion-mnist-mini/: the first PER_CLASS training images of each class and the first
 * 100 test images of each class of Fashion-MNIST, in file order, as gzip (level 9) IDX files named like
 * the originals, plus a README with provenance and sha256s.
 *
 * Usage: node --import tsx tools/make-mini-dataset.ts [FASHION_MNIST_DIR] [--per-class K] [--out DIR]
 * FASHION_MNIST_DIR defaults to ../shared/datasets/fashion-mnist relative to the repository root.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { channelStatistics, type ImageDataset } from '../src/data/dataset.js';
import { encodeIdx, idxToDataset, readIdxFile } from '../src/data/idx.js';
import { integerArg, parseToolArgs } from './lib/args.js';

/** 580 per class keeps the four compressed files under 3 MB in total (see the README it writes). */
const DEFAULT_TRAIN_PER_CLASS = 580;
const TEST_PER_CLASS = 100;
const CLASS_COUNT = 10;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Arguments {
  source: string;
  out: string;
  perClass: number;
}

function parseArguments(): Arguments {
  const { values, positionals } = parseToolArgs(import.meta.url, { 'per-class': { type: 'string' }, out: { type: 'string' } }, { allowPositionals: true });
  if (positionals.length > 1) throw new Error(`one FASHION_MNIST_DIR at most, got ${positionals.join(' ')}`);
  return {
    source: resolve(positionals[0] ?? resolve(repoRoot, '../shared/datasets/fashion-mnist')),
    out: values.out ? resolve(values.out) : join(repoRoot, 'data', 'fashion-mnist-mini'),
    perClass: integerArg(values['per-class'], '--per-class', DEFAULT_TRAIN_PER_CLASS, 1),
  };
}

function readSplit(dir: string, images: string, labels: string, name: string): ImageDataset {
  return idxToDataset(readIdxFile(join(dir, images)), readIdxFile(join(dir, labels)), {
    name,
    classNames: Array.from({ length: CLASS_COUNT }, (_, i) => String(i)),
    mean: [0],
    std: [1],
  });
}

/** Positions of the first `perClass` images of every class, keeping file order. */
function firstPerClass(ds: ImageDataset, perClass: number): number[] {
  const taken = new Array<number>(CLASS_COUNT).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < ds.count; i++) {
    // Labels are 0..9: idxToDataset checks them against the ten class names.
    const label = ds.labels[i]!;
    if (taken[label]! < perClass) {
      taken[label]!++;
      picked.push(i);
    }
  }
  const short = taken.findIndex((n) => n < perClass);
  if (short !== -1) throw new Error(`${ds.name}: class ${short} has only ${taken[short]} images, ${perClass} requested`);
  return picked;
}

interface WrittenFile {
  name: string;
  bytes: number;
  sha256: string;
}

function writeGzipIdx(out: string, name: string, dims: number[], data: Uint8Array): WrittenFile {
  const compressed = gzipSync(encodeIdx({ dataType: 'uint8', dims, data }), { level: 9 });
  writeFileSync(join(out, name), compressed);
  return { name, bytes: compressed.length, sha256: createHash('sha256').update(compressed).digest('hex') };
}

function writeSubset(ds: ImageDataset, picked: number[], out: string, imagesName: string, labelsName: string): WrittenFile[] {
  const size = ds.height * ds.width;
  const images = new Uint8Array(picked.length * size);
  const labels = new Uint8Array(picked.length);
  picked.forEach((index, i) => {
    images.set(ds.images.subarray(index * size, (index + 1) * size), i * size);
    labels[i] = ds.labels[index]!;
  });
  const stats = channelStatistics({ images, count: picked.length, channels: 1, height: ds.height, width: ds.width });
  statistics.set(ds.name, stats);
  return [writeGzipIdx(out, imagesName, [picked.length, ds.height, ds.width], images), writeGzipIdx(out, labelsName, [picked.length], labels)];
}

const statistics = new Map<string, { mean: number[]; std: number[] }>();

function main(): void {
  const args = parseArguments();
  const train = readSplit(args.source, 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 'train');
  const test = readSplit(args.source, 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'test');
  mkdirSync(args.out, { recursive: true });
  const files = [
    ...writeSubset(train, firstPerClass(train, args.perClass), args.out, 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    ...writeSubset(test, firstPerClass(test, TEST_PER_CLASS), args.out, 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
  ];
  const totalBytes = files.reduce((sum, file) => sum + file.bytes, 0);
  const sourceDigest = (name: string) =>
    createHash('sha256')
      .update(readFileSync(join(args.source, name)))
      .digest('hex');
  const trainStats = statistics.get('train')!;
  const readme = `# fashion-mnist-mini

A fixed subset of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist) shipped with onnx-cil so that
examples, tests and first runs work without a download. Registry name: \`fashion-mnist-mini\`.

- train: the first ${args.perClass} images of each of the 10 classes in the order of \`train-images-idx3-ubyte\`
  (${args.perClass * CLASS_COUNT} images), kept in file order;
- test: the first ${TEST_PER_CLASS} images of each class in the order of \`t10k-images-idx3-ubyte\`
  (${TEST_PER_CLASS * CLASS_COUNT} images), kept in file order.

Images are 28x28 grayscale uint8, labels 0..9 (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot). The files are standard IDX files, gzip-compressed (level 9), named like
the originals, so any Fashion-MNIST reader opens them.

Pixel statistics of this train subset on [0,1]: mean ${trainStats.mean[0]!.toFixed(4)}, std ${trainStats.std[0]!.toFixed(4)}.
onnx-cil normalises with the full training set's statistics (mean 0.2860, std 0.3530) so that models move
between this subset and the full dataset unchanged.

Made by \`node --import tsx tools/make-mini-dataset.ts\` from the original files
(train-images-idx3-ubyte.gz sha256 ${sourceDigest('train-images-idx3-ubyte.gz')},
t10k-images-idx3-ubyte.gz sha256 ${sourceDigest('t10k-images-idx3-ubyte.gz')}).
Total size ${(totalBytes / 1e6).toFixed(2)} MB.

| file | bytes | sha256 |
| --- | --- | --- |
${files.map((file) => `| ${file.name} | ${file.bytes} | ${file.sha256} |`).join('\n')}

## Licence

Fashion-MNIST is Copyright (c) 2017 Zalando SE (Zalando Research) and released under the MIT licence:

> Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
> documentation files (the "Software"), to deal in the Software without restriction, including without limitation
> the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
> to permit persons to whom the Software is furnished to do so, subject to the following conditions:
>
> The above copyright notice and this permission notice shall be included in all copies or substantial portions
> of the Software.
>
> THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
> THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
> AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
> CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
> IN THE SOFTWARE.

Xiao, Rasul and Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms",
arXiv:1708.07747, 2017.
`;
  writeFileSync(join(args.out, 'README.md'), readme);
  console.log(`wrote ${files.length} files (${totalBytes} bytes) and README.md to ${relative(process.cwd(), args.out) || '.'}`);
}

main();
