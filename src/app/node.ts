/**
 * Node entry of the app API (`onnx-cil/app` under the "node" condition): the browser API plus model and image
 * files (images decoded and resized with sharp), `save(path)`, and onnxruntime-node by default.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.js';
import { Classifier, type ClassifierOptions } from './classifier.js';
import { toPixels, type ImageDataLike, type ImageInput, type Pixels } from './image.js';

export * from './classifier.js';
export { resizePixels, toPixels, type Pixels } from './image.js';

/** An image in memory, or the path of an image file (PNG, JPEG, WebP, GIF, TIFF, AVIF: what sharp reads). */
export type NodeImage = ImageInput | string;

/**
 * Decodes an image file into RGBA pixels, resized (bilinear, aspect ratio not kept) when `size` is given.
 * @example const img = await readImageFile('shoe.png', { width: 28, height: 28 });
 */
export async function readImageFile(path: string, size?: { width: number; height: number }): Promise<ImageDataLike> {
  const { default: sharp } = await import('sharp');
  let pipeline = sharp(path, { failOn: 'error' });
  if (size) pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
  try {
    const { data, info } = await pipeline.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    throw new Error(`cannot read image ${path}: ${(err as Error).message}`);
  }
}

/**
 * A classifier in Node: accepts image file paths besides in-memory images, and saves itself to a file.
 * @example
 * const clf = await loadClassifier('model.onnx');
 * console.log(await clf.classify('shoe.png', { topK: 3 }));
 */
export class NodeClassifier extends Classifier<NodeImage> {
  /** Opens model bytes with onnxruntime-node unless `options.runtime` says otherwise. */
  static async load(bytes: Uint8Array | ArrayBuffer, options: ClassifierOptions = {}, source?: string): Promise<NodeClassifier> {
    const parts = await Classifier.open(bytes, options, source);
    return new NodeClassifier(parts.model, parts.bytes, parts.info, parts.backend, options);
  }

  protected override async decode(image: NodeImage): Promise<Pixels> {
    if (typeof image === 'string') {
      const [, h, w] = this.info.inputSize;
      return toPixels(await readImageFile(image, { width: w, height: h }));
    }
    return toPixels(image);
  }

  /**
   * Writes the current model (with added classes) to `path`, atomically.
   * @example await clf.save('model-with-mugs.onnx');
   */
  async save(path: string): Promise<void> {
    // Temporary file + rename: a crash never leaves a half-written model behind, a failure no temporary file.
    writeFileAtomic(path, this.toBytes());
  }
}

/**
 * Loads an exported model from a file path or bytes.
 * @example const clf = await loadClassifier('model.onnx', { threads: 2 });
 */
export async function loadClassifier(pathOrBytes: string | Uint8Array | ArrayBuffer, options: ClassifierOptions = {}): Promise<NodeClassifier> {
  if (typeof pathOrBytes === 'string') {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(pathOrBytes);
    } catch (err) {
      throw new Error(`cannot read model ${pathOrBytes}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return NodeClassifier.load(bytes, options, pathOrBytes);
  }
  return NodeClassifier.load(pathOrBytes, options);
}
