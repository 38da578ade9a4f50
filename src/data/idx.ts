/**
 * IDX files (the MNIST / Fashion-MNIST container): two zero bytes, a type code, the number of
 * dimensions, each dimension as a big-endian uint32, then the data in big-endian row-major order.
 */
import { allocateSharedBytes, type ImageDataset, validateDataset } from './dataset.js';
import { gunzipIfCompressed, readPossiblyGzippedFile } from './gzip.js';

export type IdxDataType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX tensor. */
export interface IdxArray {
  dataType: IdxDataType;
  dims: number[];
  data: IdxData;
}

interface IdxTypeInfo {
  code: number;
  bytes: number;
  allocate(length: number): IdxData;
  read(view: DataView, offset: number): number;
  write(view: DataView, offset: number, value: number): void;
}

const IDX_TYPES: Readonly<Record<IdxDataType, IdxTypeInfo>> = Object.freeze({
  uint8: { code: 0x08, bytes: 1, allocate: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o), write: (v, o, x) => v.setUint8(o, x) },
  int8: { code: 0x09, bytes: 1, allocate: (n) => new Int8Array(n), read: (v, o) => v.getInt8(o), write: (v, o, x) => v.setInt8(o, x) },
  int16: { code: 0x0b, bytes: 2, allocate: (n) => new Int16Array(n), read: (v, o) => v.getInt16(o), write: (v, o, x) => v.setInt16(o, x) },
  int32: { code: 0x0c, bytes: 4, allocate: (n) => new Int32Array(n), read: (v, o) => v.getInt32(o), write: (v, o, x) => v.setInt32(o, x) },
  float32: { code: 0x0d, bytes: 4, allocate: (n) => new Float32Array(n), read: (v, o) => v.getFloat32(o), write: (v, o, x) => v.setFloat32(o, x) },
  float64: { code: 0x0e, bytes: 8, allocate: (n) => new Float64Array(n), read: (v, o) => v.getFloat64(o), write: (v, o, x) => v.setFloat64(o, x) },
});

const IDX_TYPE_BY_CODE: ReadonlyMap<number, IdxDataType> = new Map((Object.keys(IDX_TYPES) as IdxDataType[]).map((name) => [IDX_TYPES[name].code, name]));

/**
 * Decodes an IDX file that is already in memory (gzip is detected and undone first).
 * Throws on a wrong magic, an unknown type code, impossible dimensions, truncated or trailing data.
 *
 * @example
 * const labels = parseIdx(readFileSync('t10k-labels-idx1-ubyte.gz'), 't10k-labels-idx1-ubyte.gz');
 * labels.dims; // [10000]
 */
export function parseIdx(input: Uint8Array, source = 'IDX data'): IdxArray {
  const bytes = gunzipIfCompressed(input, source);
  if (bytes.length < 4) throw new Error(`${source}: truncated IDX file (${bytes.length} bytes, the header alone needs 4)`);
  const magicHex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (magic ${magicHex}, expected 00 00 <type> <ndims>)`);
  }
  // The first 4 bytes exist: checked above.
  const dataType = IDX_TYPE_BY_CODE.get(bytes[2]!);
  if (!dataType) {
    throw new Error(`${source}: unknown IDX type code 0x${bytes[2]!.toString(16).padStart(2, '0')} (magic ${magicHex})`);
  }
  const rank = bytes[3]!;
  if (rank === 0) throw new Error(`${source}: IDX file declares 0 dimensions (magic ${magicHex})`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(`${source}: truncated IDX header (${bytes.length} bytes, ${rank} dimensions need ${headerBytes})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let elements = 1;
  for (let d = 0; d < rank; d++) {
    const size = view.getUint32(4 + 4 * d);
    dims.push(size);
    elements *= size;
  }
  const info = IDX_TYPES[dataType];
  const expectedBytes = headerBytes + elements * info.bytes;
  if (!Number.isSafeInteger(expectedBytes)) throw new Error(`${source}: IDX dimensions [${dims.join(', ')}] are impossibly large`);
  if (bytes.length < expectedBytes) {
    throw new Error(`${source}: truncated IDX data: dimensions [${dims.join(', ')}] of ${dataType} need ${expectedBytes} bytes, file has ${bytes.length}`);
  }
  if (bytes.length > expectedBytes) {
    throw new Error(`${source}: IDX file has ${bytes.length - expectedBytes} unexpected trailing bytes after dimensions [${dims.join(', ')}]`);
  }
  let data: IdxData;
  if (dataType === 'uint8') {
    data = new Uint8Array(bytes.subarray(headerBytes, expectedBytes));
  } else {
    data = info.allocate(elements);
    for (let i = 0, offset = headerBytes; i < elements; i++, offset += info.bytes) data[i] = info.read(view, offset);
  }
  return { dataType, dims, data };
}

/**
 * Reads and decodes an IDX file, plain or gzip-compressed.
 *
 * @example
 * const images = readIdxFile('/data/fashion-mnist/train-images-idx3-ubyte.gz');
 * images.dims; // [60000, 28, 28]
 */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(readPossiblyGzippedFile(path), path);
}

/**
 * Encodes a tensor as IDX bytes (uncompressed; gzip them with node:zlib if needed).
 *
 * @example
 * const bytes = encodeIdx({ dataType: 'uint8', dims: [2], data: Uint8Array.of(3, 7) });
 */
export function encodeIdx(array: IdxArray): Uint8Array {
  const info = IDX_TYPES[array.dataType];
  const elements = array.dims.reduce((a, b) => a * b, 1);
  if (array.data.length !== elements) {
    throw new Error(`encodeIdx: dimensions [${array.dims.join(', ')}] need ${elements} elements, data has ${array.data.length}`);
  }
  if (array.dims.length === 0 || array.dims.length > 255) throw new Error(`encodeIdx: IDX supports 1..255 dimensions`);
  const headerBytes = 4 + 4 * array.dims.length;
  const out = new Uint8Array(headerBytes + elements * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = array.dims.length;
  for (const [d, size] of array.dims.entries()) view.setUint32(4 + 4 * d, size);
  if (array.dataType === 'uint8') {
    out.set(array.data as Uint8Array, headerBytes);
  } else {
    for (let i = 0, offset = headerBytes; i < elements; i++, offset += info.bytes) info.write(view, offset, array.data[i]!);
  }
  return out;
}

/** What the IDX files cannot tell: the dataset's name, class names and normalisation statistics. */
export interface IdxDatasetInfo {
  name: string;
  classNames: string[];
  mean: number[];
  std: number[];
}

/**
 * Combines an IDX image tensor [N, H, W] (uint8, one channel) and label vector [N] into an ImageDataset.
 *
 * @example
 * const train = idxToDataset(readIdxFile(imagesPath), readIdxFile(labelsPath), {
 *   name: 'fashion-mnist/train', classNames, mean: [0.286], std: [0.353],
 * });
 */
export function idxToDataset(images: IdxArray, labels: IdxArray, info: IdxDatasetInfo): ImageDataset {
  if (images.dataType !== 'uint8' || images.dims.length !== 3) {
    throw new Error(`${info.name}: expected uint8 images with dimensions [N, H, W], got ${images.dataType} [${images.dims.join(', ')}]`);
  }
  if (labels.dataType !== 'uint8' || labels.dims.length !== 1) {
    throw new Error(`${info.name}: expected uint8 labels with dimensions [N], got ${labels.dataType} [${labels.dims.join(', ')}]`);
  }
  const [count, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new Error(`${info.name}: ${count} images but ${labels.dims[0]} labels; the image and label files do not belong together`);
  }
  const shared = allocateSharedBytes(images.data.length);
  shared.set(images.data as Uint8Array);
  const dataset: ImageDataset = {
    name: info.name,
    images: shared,
    labels: Int32Array.from(labels.data),
    count,
    channels: 1,
    height,
    width,
    classNames: info.classNames.slice(),
    mean: info.mean.slice(),
    std: info.std.slice(),
  };
  validateDataset(dataset);
  return dataset;
}
