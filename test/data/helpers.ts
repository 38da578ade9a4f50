/** Shared fixtures for the data-layer tests. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { allocateSharedBytes, type ImageDataset } from '../../src/data/dataset.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The real datasets live beside the repository (CI: ../shared/datasets). */
export const sharedDatasets = resolve(repoRoot, '../shared/datasets');

/**
 * The shared dataset folder `sub`, or null after marking the test skipped when it is absent.
 *
 * @example
 * const dir = sharedFolder(t, 'fashion-mnist'); if (!dir) return;
 */
export function sharedFolder(t: TestContext, sub: string): string | null {
  const dir = join(sharedDatasets, sub);
  if (existsSync(dir)) return dir;
  t.skip(`shared dataset ${dir} is missing; skipping the real-data check`);
  return null;
}

/**
 * A fresh temporary folder removed after the test.
 *
 * @example
 * const dir = temporaryFolder(t);
 */
export function temporaryFolder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-data-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A dataset with pseudo-random pixels (deterministic) and labels cycling through the classes.
 *
 * @example
 * const ds = syntheticDataset({ count: 64, channels: 3, height: 8, width: 8, classes: 4 });
 */
export function syntheticDataset(shape: { count: number; channels: number; height: number; width: number; classes: number }): ImageDataset {
  const { count, channels, height, width, classes } = shape;
  const images = allocateSharedBytes(count * channels * height * width);
  let state = 12345;
  for (let i = 0; i < images.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    images[i] = state >>> 24;
  }
  return {
    name: 'synthetic',
    images,
    labels: Int32Array.from({ length: count }, (_, i) => i % classes),
    count,
    channels,
    height,
    width,
    classNames: Array.from({ length: classes }, (_, i) => `class${i}`),
    mean: Array.from({ length: channels }, (_, c) => 0.4 + 0.05 * c),
    std: Array.from({ length: channels }, (_, c) => 0.2 + 0.03 * c),
  };
}

/** Writes a ustar header block for a regular file or directory. */
function tarHeader(name: string, size: number, type: '0' | '5' | 'L', prefix = ''): Buffer {
  const header = Buffer.alloc(512);
  const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  header.write(name.slice(0, 100), 0, 'utf8');
  header.write(octal(0o644, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.write('        ', 148);
  header.write(type, 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  header.write(prefix, 345, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${octal(sum, 7)} `, 148);
  return header;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/**
 * A tar archive holding the given files (names over 100 bytes use a GNU long-name record), for tests.
 *
 * @example
 * const tar = makeTar([{ name: 'dir/a.txt', data: Buffer.from('hi') }]);
 */
export function makeTar(files: { name: string; data: Buffer; directory?: boolean }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    if (file.directory) {
      blocks.push(tarHeader(file.name, 0, '5'));
      continue;
    }
    if (Buffer.byteLength(file.name) > 100) {
      const longName = Buffer.from(`${file.name}\0`);
      blocks.push(tarHeader('././@LongLink', longName.length, 'L'), padded(longName));
    }
    blocks.push(tarHeader(file.name, file.data.length, '0'), padded(file.data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
