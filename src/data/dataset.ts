/**
 * The in-memory image dataset every loader produces and every batcher consumes.
 */

/** A labelled image set held as one uint8 NCHW block. */
export interface ImageDataset {
  /** Registry name plus split, e.g. `fashion-mnist/train`; shown in errors and logs. */
  name: string;
  /** count*channels*height*width bytes, NCHW. Loaders allocate it on a SharedArrayBuffer so workers can read it without a copy. */
  images: Uint8Array;
  /** Class id per image, indexes `classNames`. */
  labels: Int32Array;
  count: number;
  channels: number;
  height: number;
  width: number;
  classNames: string[];
  /** Per-channel mean of pixel/255, used by normalisation. */
  mean: number[];
  /** Per-channel standard deviation of pixel/255, used by normalisation. */
  std: number[];
}

/**
 * Bytes per image (channels*height*width).
 *
 * @example
 * imageSize(ds); // 784 for Fashion-MNIST, 3072 for CIFAR
 */
export function imageSize(ds: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/**
 * A zeroed uint8 array backed by a SharedArrayBuffer, so prefetch workers can share it.
 *
 * @example
 * const images = allocateSharedBytes(count * 784);
 */
export function allocateSharedBytes(byteLength: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(byteLength));
}

/**
 * Checks every invariant of an ImageDataset and throws an Error naming the first violation.
 *
 * @example
 * validateDataset(parseCifar100(bytes, { source: 'train.bin' }));
 */
export function validateDataset(ds: ImageDataset): void {
  const where = `dataset "${ds.name}"`;
  for (const field of ['count', 'channels', 'height', 'width'] as const) {
    const value = ds[field];
    const minimum = field === 'count' ? 0 : 1;
    if (!Number.isInteger(value) || value < minimum) {
      throw new Error(`${where}: ${field} must be an integer >= ${minimum}, got ${value}`);
    }
  }
  const expectedBytes = ds.count * imageSize(ds);
  if (!(ds.images instanceof Uint8Array)) throw new Error(`${where}: images must be a Uint8Array`);
  if (ds.images.length !== expectedBytes) {
    throw new Error(`${where}: images hold ${ds.images.length} bytes but ${ds.count} images of ${ds.channels}x${ds.height}x${ds.width} need ${expectedBytes}`);
  }
  if (!(ds.labels instanceof Int32Array)) throw new Error(`${where}: labels must be an Int32Array`);
  if (ds.labels.length !== ds.count) {
    throw new Error(`${where}: ${ds.labels.length} labels for ${ds.count} images`);
  }
  if (ds.classNames.length === 0) throw new Error(`${where}: classNames is empty`);
  for (let i = 0; i < ds.count; i++) {
    const label = ds.labels[i]!;
    if (label < 0 || label >= ds.classNames.length) {
      throw new Error(`${where}: label ${label} of image ${i} is outside 0..${ds.classNames.length - 1}`);
    }
  }
  for (const field of ['mean', 'std'] as const) {
    const values = ds[field];
    if (values.length !== ds.channels) {
      throw new Error(`${where}: ${field} has ${values.length} entries for ${ds.channels} channels`);
    }
    if (values.some((v) => !Number.isFinite(v))) throw new Error(`${where}: ${field} has a non-finite entry`);
  }
  if (ds.std.some((v) => v <= 0)) throw new Error(`${where}: std entries must be > 0, got [${ds.std.join(', ')}]`);
}

/**
 * Positions (in dataset order) of the images whose label is one of `classes`.
 *
 * @example
 * const firstTask = indicesOfClasses(train, [0, 1]);
 */
export function indicesOfClasses(ds: ImageDataset, classes: readonly number[]): Int32Array {
  const wanted = new Uint8Array(ds.classNames.length);
  for (const cls of classes) {
    if (!Number.isInteger(cls) || cls < 0 || cls >= ds.classNames.length) {
      throw new Error(`dataset "${ds.name}": class ${cls} is outside 0..${ds.classNames.length - 1}`);
    }
    wanted[cls] = 1;
  }
  // Labels index classNames: every loader checks that (validateDataset).
  let matches = 0;
  for (let i = 0; i < ds.count; i++) matches += wanted[ds.labels[i]!]!;
  const result = new Int32Array(matches);
  for (let i = 0, out = 0; i < ds.count; i++) if (wanted[ds.labels[i]!]) result[out++] = i;
  return result;
}

/**
 * A new dataset holding copies of the images at `indices`, in that order, with their original labels.
 *
 * @example
 * const firstHundred = subsetIndices(train, Int32Array.from({ length: 100 }, (_, i) => i));
 */
export function subsetIndices(ds: ImageDataset, indices: ArrayLike<number>, name = `${ds.name}[subset]`): ImageDataset {
  const size = imageSize(ds);
  const images = allocateSharedBytes(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= ds.count) {
      throw new Error(`dataset "${ds.name}": index ${index} is outside 0..${ds.count - 1}`);
    }
    images.set(ds.images.subarray(index * size, (index + 1) * size), i * size);
    labels[i] = ds.labels[index]!;
  }
  return { ...ds, name, images, labels, count: indices.length, classNames: ds.classNames.slice(), mean: ds.mean.slice(), std: ds.std.slice() };
}

/**
 * The images of the given classes, in dataset order. Labels keep their original ids (not renumbered),
 * so class-incremental tasks can share one label space.
 *
 * @example
 * const task = selectClasses(train, [3, 7]); // labels are still 3 and 7
 */
export function selectClasses(ds: ImageDataset, classes: readonly number[]): ImageDataset {
  return subsetIndices(ds, indicesOfClasses(ds, classes), `${ds.name}[classes ${classes.join(',')}]`);
}

/**
 * Number of images per class id.
 *
 * @example
 * classCounts(test); // Int32Array(10) [1000, 1000, ...] for Fashion-MNIST
 */
export function classCounts(ds: ImageDataset): Int32Array {
  const counts = new Int32Array(ds.classNames.length);
  // Labels index classNames: every loader checks that (validateDataset).
  for (let i = 0; i < ds.count; i++) counts[ds.labels[i]!]!++;
  return counts;
}

/**
 * Per-channel mean and standard deviation of pixel/255 over the whole dataset.
 *
 * @example
 * const { mean, std } = channelStatistics(train); // Fashion-MNIST train: [0.2860], [0.3530]
 */
export function channelStatistics(ds: Pick<ImageDataset, 'images' | 'count' | 'channels' | 'height' | 'width'>): {
  mean: number[];
  std: number[];
} {
  const plane = ds.height * ds.width;
  // Histograms keep the sums exact regardless of dataset size.
  const histograms = Array.from({ length: ds.channels }, () => new Float64Array(256));
  for (let n = 0; n < ds.count; n++) {
    for (let c = 0; c < ds.channels; c++) {
      const histogram = histograms[c]!;
      const start = (n * ds.channels + c) * plane;
      for (let p = start; p < start + plane; p++) histogram[ds.images[p]!]!++;
    }
  }
  const pixels = ds.count * plane;
  const mean: number[] = [];
  const std: number[] = [];
  for (const histogram of histograms) {
    let sum = 0;
    let squares = 0;
    for (let v = 0; v < 256; v++) {
      sum += histogram[v]! * (v / 255);
      squares += histogram[v]! * (v / 255) ** 2;
    }
    const m = pixels ? sum / pixels : 0;
    mean.push(m);
    std.push(pixels ? Math.sqrt(Math.max(0, squares / pixels - m * m)) : 0);
  }
  return { mean, std };
}
