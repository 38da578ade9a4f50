/**
 * Transparent gzip handling for dataset files, which are distributed either plain or gzip-compressed.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * True when the bytes start with the gzip magic 1f 8b.
 *
 * @example
 * isGzip(readFileSync('train-images-idx3-ubyte.gz')); // true
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses gzip data (detected by its magic, not the file name) and returns anything else unchanged.
 * A damaged or truncated gzip stream throws an error naming `source`.
 *
 * @example
 * const raw = gunzipIfCompressed(readFileSync(path), path);
 */
export function gunzipIfCompressed(bytes: Uint8Array, source: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${source}: corrupt or truncated gzip data (${reason}); delete the file and download it again`);
  }
}

/**
 * Reads a file and decompresses it when it is gzip; a missing file throws an error naming the path.
 *
 * @example
 * const bytes = readPossiblyGzippedFile('/data/cifar-100-binary/test.bin.gz');
 */
export function readPossiblyGzippedFile(path: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${path}: file not found`);
    throw new Error(`${path}: cannot read (${(error as Error).message})`);
  }
  return gunzipIfCompressed(bytes, path);
}
