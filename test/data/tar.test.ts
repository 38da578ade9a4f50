import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractTar } from '../../src/data/tar.js';
import { makeTar, temporaryFolder } from './helpers.js';

/** Feeds bytes in awkward chunk sizes so entries straddle chunk boundaries. */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

const longName = `deep/${'x'.repeat(120)}/file.bin`;
const files = [
  { name: 'archive/', data: Buffer.alloc(0), directory: true },
  { name: 'archive/a.bin', data: Buffer.from(Array.from({ length: 1300 }, (_, i) => (i * 13) & 255)) },
  { name: 'archive/empty.txt', data: Buffer.alloc(0) },
  { name: longName, data: Buffer.from('long name content') },
  { name: 'archive/b.txt', data: Buffer.from('exactly five hundred twelve'.padEnd(512, '.')) },
];

test('extracts the wanted entries, lists all of them, across chunk boundaries', async (t) => {
  const dir = temporaryFolder(t);
  const archive = makeTar(files);
  for (const chunkSize of [7, 512, 1000, archive.length]) {
    const written: string[] = [];
    const entries = await extractTar(chunked(archive, chunkSize), (entry) => {
      if (entry.name === 'archive/empty.txt') return null;
      const target = join(dir, `${written.length}-${chunkSize}`);
      written.push(target);
      return target;
    });
    assert.deepEqual(
      entries.map((entry) => [entry.name, entry.size, entry.type]),
      [
        ['archive/', 0, '5'],
        ['archive/a.bin', 1300, '0'],
        ['archive/empty.txt', 0, '0'],
        [longName, 17, '0'],
        ['archive/b.txt', 512, '0'],
      ],
    );
    assert.deepEqual(readFileSync(written[0]!), files[1]!.data);
    assert.equal(readFileSync(written[1]!, 'utf8'), 'long name content');
    assert.deepEqual(readFileSync(written[2]!), files[4]!.data);
  }
});

test('reads archives written by the system tar', async (t) => {
  const dir = temporaryFolder(t);
  const source = join(dir, 'cifar-100-binary');
  mkdirSync(source);
  writeFileSync(join(source, 'test.bin'), Buffer.alloc(3074 * 3, 9));
  writeFileSync(join(source, 'fine_label_names.txt'), 'apple\nworm\n');
  try {
    execFileSync('tar', ['-C', dir, '-cf', join(dir, 'made.tar'), 'cifar-100-binary'], { stdio: 'ignore' });
  } catch {
    t.skip('no system tar to cross-check against');
    return;
  }
  const out = join(dir, 'names.txt');
  const entries = await extractTar(chunked(readFileSync(join(dir, 'made.tar')), 4096), (entry) =>
    entry.name === 'cifar-100-binary/fine_label_names.txt' ? out : null,
  );
  assert.deepEqual(entries.map((entry) => entry.name).sort(), ['cifar-100-binary/', 'cifar-100-binary/fine_label_names.txt', 'cifar-100-binary/test.bin']);
  assert.equal(readFileSync(out, 'utf8'), 'apple\nworm\n');
});

test('truncated archives, bad checksums and empty input are errors', async () => {
  const archive = makeTar(files.slice(0, 2));
  await assert.rejects(
    extractTar(chunked(archive.subarray(0, 1200), 100), () => null),
    /truncated tar archive: entry at byte 512 needs 1300 bytes/,
  );
  const damaged = Buffer.from(archive);
  damaged[520]! ^= 1;
  await assert.rejects(
    extractTar(chunked(damaged, 100), () => null),
    /corrupt tar header at byte 512 \(checksum mismatch\)/,
  );
  await assert.rejects(
    extractTar(chunked(Buffer.alloc(0), 10), () => null),
    /not a tar archive: empty stream/,
  );
});
