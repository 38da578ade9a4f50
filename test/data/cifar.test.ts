import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CIFAR100_RECORD_BYTES, parseCifar100, readCifar100File, readLabelNames } from '../../src/data/cifar.js';
import { classCounts } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/registry.js';
import { sharedFolder, temporaryFolder } from './helpers.js';

/** Records whose pixel value encodes (record, channel, row, column) so the layout can be checked. */
function syntheticRecords(fineLabels: number[]): Buffer {
  const bytes = Buffer.alloc(fineLabels.length * CIFAR100_RECORD_BYTES);
  fineLabels.forEach((fine, r) => {
    const record = r * CIFAR100_RECORD_BYTES;
    bytes[record] = fine % 20;
    bytes[record + 1] = fine;
    for (let p = 0; p < 3072; p++) bytes[record + 2 + p] = (r * 31 + p * 7) & 255;
  });
  return bytes;
}

const names = Array.from({ length: 100 }, (_, i) => `name${i}`);

test('reads plain and gzip CIFAR-100 records from files, channel-planar', (t) => {
  const dir = temporaryFolder(t);
  const records = syntheticRecords([5, 99, 0, 42]);
  writeFileSync(join(dir, 'test.bin'), records);
  writeFileSync(join(dir, 'test.bin.gz'), gzipSync(records));
  writeFileSync(join(dir, 'fine_label_names.txt'), `${names.join('\n')}\n\n`);
  const classNames = readLabelNames(join(dir, 'fine_label_names.txt'), 100);
  assert.equal(classNames[99], 'name99');
  for (const file of ['test.bin', 'test.bin.gz']) {
    const ds = readCifar100File(join(dir, file), { classNames, name: 'cifar-100/test' });
    assert.equal(ds.count, 4);
    assert.deepEqual([ds.channels, ds.height, ds.width], [3, 32, 32]);
    assert.deepEqual(Array.from(ds.labels), [5, 99, 0, 42]);
    assert.deepEqual(Array.from(ds.coarseLabels), [5, 19, 0, 2]);
    // Record 2, green channel (c=1), row 3, column 4: pixel byte p = 1*1024 + 3*32 + 4.
    const p = 1024 + 3 * 32 + 4;
    assert.equal(ds.images[2 * 3072 + p], (2 * 31 + p * 7) & 255);
    assert.equal(ds.classNames[42], 'name42');
    assert.ok(ds.images.buffer instanceof SharedArrayBuffer);
  }
});

test('a length that is not a whole number of records is reported as truncated', () => {
  const records = syntheticRecords([1, 2]);
  assert.throws(
    () => parseCifar100(records.subarray(0, records.length - 100), { source: 'train.bin' }),
    /train\.bin: truncated or not CIFAR-100 binary data: 6048 bytes is 1 records of 3074 bytes plus 2974 extra bytes/,
  );
  assert.throws(() => parseCifar100(new Uint8Array(0), { source: 'empty.bin' }), /empty\.bin: empty file/);
});

test('out-of-range label bytes and wrong label-name counts are rejected', (t) => {
  const records = syntheticRecords([1, 2]);
  records[CIFAR100_RECORD_BYTES + 1] = 100;
  assert.throws(() => parseCifar100(records, { source: 'bad.bin' }), /record 1 has coarse label 2 and fine label 100/);
  const dir = temporaryFolder(t);
  writeFileSync(join(dir, 'names.txt'), 'a\nb\n');
  assert.throws(() => readLabelNames(join(dir, 'names.txt'), 100), /expected 100 label names \(one per line\), found 2/);
  assert.throws(() => parseCifar100(syntheticRecords([1]), { classNames: ['a'] }), /needs 100 fine label names, got 1/);
});

test('real CIFAR-100 test.bin.gz: 10000 records, 100 per class, apple..worm', (t) => {
  const dir = sharedFolder(t, 'cifar-100-binary');
  if (!dir) return;
  const test = loadDataset('cifar-100', 'test', { dataPath: dir, env: {} });
  assert.equal(test.count, 10000);
  assert.equal(test.name, 'cifar-100/test');
  assert.equal(test.classNames.length, 100);
  assert.equal(test.classNames[0], 'apple');
  assert.equal(test.classNames[99], 'worm');
  assert.deepEqual(Array.from(classCounts(test)), new Array(100).fill(100));
  assert.deepEqual(test.mean, [0.5071, 0.4865, 0.4409]);
});
