/**
 * CIFAR-100 "binary version": fixed-size records of 1 coarse label byte, 1 fine label byte and
 * 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major), i.e. already NCHW.
 */
import { readFileSync } from 'node:fs';
import { allocateSharedBytes, type ImageDataset, validateDataset } from './dataset.js';
import { gunzipIfCompressed, readPossiblyGzippedFile } from './gzip.js';

export const CIFAR_CHANNELS = 3;
export const CIFAR_SIDE = 32;
export const CIFAR_PIXEL_BYTES = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE;
/** Coarse label byte + fine label byte + pixels. */
export const CIFAR100_RECORD_BYTES = 2 + CIFAR_PIXEL_BYTES;
export const CIFAR100_FINE_CLASSES = 100;
export const CIFAR100_COARSE_CLASSES = 20;

/** Per-channel statistics of the CIFAR-100 training set on [0,1]. */
export const CIFAR100_MEAN: readonly number[] = Object.freeze([0.5071, 0.4865, 0.4409]);
export const CIFAR100_STD: readonly number[] = Object.freeze([0.2673, 0.2564, 0.2762]);

export interface Cifar100ParseOptions {
  /** File name or description used in error messages. */
  source?: string;
  /** Dataset name, e.g. `cifar-100/test`. */
  name?: string;
  /** 100 fine label names in label order; generic `class_<i>` names when omitted. */
  classNames?: string[];
  mean?: readonly number[];
  std?: readonly number[];
}

/** A CIFAR-100 split with its coarse labels kept alongside (ImageDataset.labels are the fine labels). */
export interface Cifar100Dataset extends ImageDataset {
  coarseLabels: Int32Array;
}

/**
 * Decodes CIFAR-100 binary records (plain or gzip-compressed bytes) into a dataset labelled by fine class.
 * Throws when the length is not a whole number of 3074-byte records or a label byte is out of range.
 *
 * @example
 * const test = parseCifar100(readFileSync('test.bin'), { source: 'test.bin', classNames });
 * test.count; // 10000
 */
export function parseCifar100(input: Uint8Array, options: Cifar100ParseOptions = {}): Cifar100Dataset {
  const source = options.source ?? 'CIFAR-100 data';
  const bytes = gunzipIfCompressed(input, source);
  if (bytes.length === 0) throw new Error(`${source}: empty file, expected CIFAR-100 records of ${CIFAR100_RECORD_BYTES} bytes`);
  const leftover = bytes.length % CIFAR100_RECORD_BYTES;
  if (leftover !== 0) {
    const whole = Math.floor(bytes.length / CIFAR100_RECORD_BYTES);
    throw new Error(
      `${source}: truncated or not CIFAR-100 binary data: ${bytes.length} bytes is ${whole} records of ` +
        `${CIFAR100_RECORD_BYTES} bytes plus ${leftover} extra bytes (CIFAR-10 files have 3073-byte records)`,
    );
  }
  const count = bytes.length / CIFAR100_RECORD_BYTES;
  const classNames = options.classNames ?? Array.from({ length: CIFAR100_FINE_CLASSES }, (_, i) => `class_${i}`);
  if (classNames.length !== CIFAR100_FINE_CLASSES) {
    throw new Error(`${source}: CIFAR-100 needs ${CIFAR100_FINE_CLASSES} fine label names, got ${classNames.length}`);
  }
  const images = allocateSharedBytes(count * CIFAR_PIXEL_BYTES);
  const labels = new Int32Array(count);
  const coarseLabels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const record = i * CIFAR100_RECORD_BYTES;
    const coarse = bytes[record]!;
    const fine = bytes[record + 1]!;
    if (coarse >= CIFAR100_COARSE_CLASSES || fine >= CIFAR100_FINE_CLASSES) {
      throw new Error(
        `${source}: record ${i} has coarse label ${coarse} and fine label ${fine} ` +
          `(expected < ${CIFAR100_COARSE_CLASSES} and < ${CIFAR100_FINE_CLASSES}); the file is corrupt or not CIFAR-100`,
      );
    }
    coarseLabels[i] = coarse;
    labels[i] = fine;
    images.set(bytes.subarray(record + 2, record + CIFAR100_RECORD_BYTES), i * CIFAR_PIXEL_BYTES);
  }
  const dataset: Cifar100Dataset = {
    name: options.name ?? 'cifar-100',
    images,
    labels,
    coarseLabels,
    count,
    channels: CIFAR_CHANNELS,
    height: CIFAR_SIDE,
    width: CIFAR_SIDE,
    classNames: classNames.slice(),
    mean: (options.mean ?? CIFAR100_MEAN).slice(),
    std: (options.std ?? CIFAR100_STD).slice(),
  };
  validateDataset(dataset);
  return dataset;
}

/**
 * Reads a label-name file (one name per line, in label order; blank lines ignored).
 *
 * @example
 * readLabelNames('cifar-100-binary/fine_label_names.txt'); // ['apple', 'aquarium_fish', ..., 'worm']
 */
export function readLabelNames(path: string, expectedCount?: number): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read label names (${(error as Error).message})`);
  }
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (expectedCount !== undefined && names.length !== expectedCount) {
    throw new Error(`${path}: expected ${expectedCount} label names (one per line), found ${names.length}`);
  }
  return names;
}

/**
 * Reads a CIFAR-100 binary file (`train.bin`, `test.bin` or their `.bin.gz` forms).
 *
 * @example
 * const test = readCifar100File('/data/cifar-100-binary/test.bin.gz', {
 *   classNames: readLabelNames('/data/cifar-100-binary/fine_label_names.txt', 100),
 * });
 */
export function readCifar100File(path: string, options: Omit<Cifar100ParseOptions, 'source'> = {}): Cifar100Dataset {
  return parseCifar100(readPossiblyGzippedFile(path), { ...options, source: path });
}
