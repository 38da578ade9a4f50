/**
 * Writes a class-stratified subset of CIFAR-100 (the first K train and T test images of every class, binary format,
 * gzip) for GPU runs: the GPU machine has no network and a remote call carries at most 64 MiB, less than the full
 * 167 MB. Usage: node --import tsx tools/gpu/make-cifar-subset.ts SRC_DIR OUT_DIR [K=100] [T=50]
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CIFAR100_RECORD_BYTES } from '../../src/data/cifar.js';
import { readPossiblyGzippedFile } from '../../src/data/gzip.js';
import { integerArg, parseToolArgs } from '../lib/args.js';

function subset(records: Uint8Array, perClass: number): Uint8Array {
  const count = records.length / CIFAR100_RECORD_BYTES;
  const taken = new Array<number>(100).fill(0);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const rec = records.subarray(i * CIFAR100_RECORD_BYTES, (i + 1) * CIFAR100_RECORD_BYTES);
    const fine = rec[1]!;
    if (taken[fine]! < perClass) {
      taken[fine]!++;
      out.push(rec);
    }
  }
  const all = new Uint8Array(out.length * CIFAR100_RECORD_BYTES);
  for (const [k, r] of out.entries()) all.set(r, k * CIFAR100_RECORD_BYTES);
  return all;
}

const [src, dst, k, t] = parseToolArgs(import.meta.url, {}, { allowPositionals: true }).positionals;
if (!src || !dst) throw new Error('usage: make-cifar-subset.ts SRC_DIR OUT_DIR [K] [T]');
const perClass = { train: integerArg(k, 'K', 100, 1), test: integerArg(t, 'T', 50, 1) };
mkdirSync(dst, { recursive: true });
for (const [split, per] of Object.entries(perClass)) {
  const data = subset(readPossiblyGzippedFile(join(src, `${split}.bin.gz`)), per);
  writeFileSync(join(dst, `${split}.bin.gz`), gzipSync(data, { level: 9 }));
  console.log(`${split}: ${data.length / CIFAR100_RECORD_BYTES} images`);
}
copyFileSync(join(src, 'fine_label_names.txt'), join(dst, 'fine_label_names.txt'));
