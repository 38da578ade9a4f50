/**
 * Browser entry of the app API (`onnx-cil/app` under the "browser"/"default" conditions): onnxruntime-web (wasm,
 * or WebGPU when asked), models from URLs, files or bytes, and images from canvases, <img> elements, bitmaps and
 * blobs besides ImageData-like objects.
 */
import { registerRuntime } from '../runtime/backend.js';
import { Classifier, type ClassifierOptions } from './classifier.js';
import { toPixels, type ImageInput, type Pixels } from './image.js';

export * from './classifier.js';
export { resizePixels, toPixels, type Pixels } from './image.js';

// Written out so that bundlers include onnxruntime-web (and its .wasm) in the app.
registerRuntime('web', () => import('onnxruntime-web'));

/** Everything a browser app may hand to `classify`. */
export type BrowserImage = ImageInput | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | Blob;

function drawable(x: unknown): x is ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas {
  return (
    (typeof ImageBitmap !== 'undefined' && x instanceof ImageBitmap) ||
    (typeof HTMLImageElement !== 'undefined' && x instanceof HTMLImageElement) ||
    (typeof HTMLCanvasElement !== 'undefined' && x instanceof HTMLCanvasElement) ||
    (typeof OffscreenCanvas !== 'undefined' && x instanceof OffscreenCanvas)
  );
}

/**
 * RGBA pixels of a drawable image at its own size.
 * @example const img = await imageDataOf(document.querySelector('canvas')!);
 */
export async function imageDataOf(source: ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | Blob): Promise<ImageData> {
  const bitmap = source instanceof Blob ? await createImageBitmap(source) : source;
  const width = bitmap instanceof HTMLImageElement ? bitmap.naturalWidth : bitmap.width;
  const height = bitmap instanceof HTMLImageElement ? bitmap.naturalHeight : bitmap.height;
  if (!width || !height) throw new RangeError(`the image has zero size (${width}x${height}); is it loaded?`);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas context available');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, width, height);
}

/**
 * A classifier in the browser.
 * @example
 * const clf = await loadClassifier('/models/fashion.onnx');
 * const [best] = await clf.classify(canvas, { topK: 1 });
 */
export class BrowserClassifier extends Classifier<BrowserImage> {
  static async load(bytes: Uint8Array | ArrayBuffer, options: ClassifierOptions = {}, source?: string): Promise<BrowserClassifier> {
    const parts = await Classifier.open(bytes, { runtime: 'web', ...options }, source);
    return new BrowserClassifier(parts.model, parts.bytes, parts.info, parts.backend, { runtime: 'web', ...options });
  }

  protected override async decode(image: BrowserImage): Promise<Pixels> {
    if (drawable(image) || (typeof Blob !== 'undefined' && image instanceof Blob)) return toPixels(await imageDataOf(image));
    return toPixels(image);
  }
}

/**
 * Loads an exported model from a URL, a File/Blob, or bytes.
 * @example const clf = await loadClassifier(fileInput.files[0]);
 */
export async function loadClassifier(source: string | URL | Blob | Uint8Array | ArrayBuffer, options: ClassifierOptions = {}): Promise<BrowserClassifier> {
  if (typeof source === 'string' || source instanceof URL) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`cannot load model ${String(source)}: HTTP ${response.status}`);
    return BrowserClassifier.load(await response.arrayBuffer(), options, String(source));
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return BrowserClassifier.load(await source.arrayBuffer(), options, source instanceof File ? source.name : 'the model');
  }
  return BrowserClassifier.load(source as Uint8Array | ArrayBuffer, options);
}
