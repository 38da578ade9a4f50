import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, idxToDataset, parseIdx, readIdxFile } from '../../src/data/idx.js';
import { sharedFolder, temporaryFolder } from './helpers.js';

const info = { name: 'tiny', classNames: ['a', 'b', 'c'], mean: [0.5], std: [0.25] };

test('uint8 IDX round-trips through encodeIdx/parseIdx, plain and gzip', () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) & 255);
  const encoded = encodeIdx({ dataType: 'uint8', dims: [2, 3, 4], data });
  assert.deepEqual(Array.from(encoded.subarray(0, 8)), [0, 0, 0x08, 3, 0, 0, 0, 2]);
  for (const bytes of [encoded, gzipSync(encoded)]) {
    const parsed = parseIdx(bytes, 'tiny');
    assert.equal(parsed.dataType, 'uint8');
    assert.deepEqual(parsed.dims, [2, 3, 4]);
    assert.deepEqual(parsed.data, data);
  }
});

test('multi-byte IDX types are big-endian', () => {
  const encoded = encodeIdx({ dataType: 'int32', dims: [2], data: Int32Array.of(1, -2) });
  assert.deepEqual(Array.from(encoded.subarray(8)), [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
  assert.deepEqual(parseIdx(encoded).data, Int32Array.of(1, -2));
  const floats = parseIdx(encodeIdx({ dataType: 'float32', dims: [1, 2], data: Float32Array.of(1.5, -0.25) }));
  assert.deepEqual(floats.data, Float32Array.of(1.5, -0.25));
});

test('wrong magic, unknown type, truncated and trailing data are rejected with clear messages', () => {
  const good = encodeIdx({ dataType: 'uint8', dims: [4, 2], data: new Uint8Array(8) });
  const withByte = (index: number, value: number) => {
    const copy = good.slice();
    copy[index] = value;
    return copy;
  };
  assert.throws(() => parseIdx(withByte(0, 0x50), 'x.idx'), /x\.idx: not an IDX file \(magic 50 00 08 02/);
  assert.throws(() => parseIdx(withByte(2, 0x07), 'x.idx'), /unknown IDX type code 0x07/);
  assert.throws(() => parseIdx(good.subarray(0, 3), 'x.idx'), /truncated IDX file/);
  assert.throws(() => parseIdx(good.subarray(0, 10), 'x.idx'), /truncated IDX header/);
  assert.throws(() => parseIdx(good.subarray(0, good.length - 1), 'x.idx'), /truncated IDX data: dimensions \[4, 2\] of uint8 need 20 bytes, file has 19/);
  assert.throws(() => parseIdx(Buffer.concat([good, Buffer.of(1)]), 'x.idx'), /1 unexpected trailing bytes/);
  assert.throws(() => parseIdx(withByte(3, 0), 'x.idx'), /declares 0 dimensions/);
});

test('a truncated gzip file is reported as corrupt', () => {
  const gz = gzipSync(encodeIdx({ dataType: 'uint8', dims: [100], data: new Uint8Array(100).fill(7) }));
  assert.throws(() => parseIdx(gz.subarray(0, gz.length - 10), 'labels.gz'), /labels\.gz: corrupt or truncated gzip data/);
});

test('readIdxFile names missing files', (t) => {
  const dir = temporaryFolder(t);
  assert.throws(() => readIdxFile(join(dir, 'absent.gz')), /absent\.gz: file not found/);
});

test('idxToDataset combines images and labels and checks they belong together', (t) => {
  const dir = temporaryFolder(t);
  const images = { dataType: 'uint8' as const, dims: [3, 2, 2], data: Uint8Array.from({ length: 12 }, (_, i) => i) };
  writeFileSync(join(dir, 'labels.gz'), gzipSync(encodeIdx({ dataType: 'uint8', dims: [3], data: Uint8Array.of(2, 0, 1) })));
  const ds = idxToDataset(images, readIdxFile(join(dir, 'labels.gz')), info);
  assert.equal(ds.count, 3);
  assert.equal(ds.channels, 1);
  assert.deepEqual(Array.from(ds.labels), [2, 0, 1]);
  assert.ok(ds.images.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(Array.from(ds.images), Array.from(images.data));
  assert.throws(() => idxToDataset(images, { dataType: 'uint8', dims: [2], data: Uint8Array.of(0, 1) }, info), /3 images but 2 labels/);
  assert.throws(() => idxToDataset(images, { dataType: 'uint8', dims: [3], data: Uint8Array.of(0, 1, 3) }, info), /label 3 of image 2 is outside 0\.\.2/);
  assert.throws(() => idxToDataset(images, { dataType: 'uint8', dims: [3, 1], data: new Uint8Array(3) }, info), /labels with dimensions \[N\]/);
});

test('real Fashion-MNIST test files: header and label counts', (t) => {
  const dir = sharedFolder(t, 'fashion-mnist');
  if (!dir) return;
  const labelsFile = readFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'));
  assert.deepEqual(Array.from(labelsFile.subarray(0, 2)), [0x1f, 0x8b]);
  const labels = parseIdx(labelsFile, 't10k-labels');
  assert.deepEqual(labels.dims, [10000]);
  const perClass = new Array(10).fill(0);
  for (const label of labels.data) perClass[label]++;
  assert.deepEqual(perClass, new Array(10).fill(1000));
  const images = readIdxFile(join(dir, 't10k-images-idx3-ubyte.gz'));
  assert.deepEqual(images.dims, [10000, 28, 28]);
  assert.equal(images.dataType, 'uint8');
});
