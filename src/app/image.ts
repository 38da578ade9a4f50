/**
 * Image inputs of the app API: validation, resizing and channel conversion in plain TypeScript (runs in browsers,
 * workers and Node alike), and packing into the tensor layout an exported model takes.
 */
import { LUMA_WEIGHTS as LUMA, type InferenceModelInfo } from '../export/metadata.js';

/** Pixel arrays the API accepts: bytes 0-255, or floats 0-1. */
export type PixelArray = Uint8Array | Uint8ClampedArray | Float32Array;

/** What a canvas `getImageData` returns (RGBA); 1- and 3-channel data of the same shape are accepted too. */
export interface ImageDataLike {
  data: PixelArray;
  width: number;
  height: number;
}

/** A typed array with its shape [height, width] or [height, width, channels] (channels 1, 3 or 4; HWC order). */
export interface ShapedPixels {
  data: PixelArray;
  shape: readonly number[];
}

/** Any in-memory image the classifier accepts. */
export type ImageInput = ImageDataLike | ShapedPixels;

/** An image held as HWC pixel values on the 0-255 scale. */
export interface Pixels {
  /** Uint8Array when the values are exact bytes, Float32Array after resizing or from float input. */
  data: Uint8Array | Float32Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') {
    const keys = Object.keys(x as object).slice(0, 6);
    return `an object with keys ${keys.join(', ') || '(none)'}`;
  }
  return typeof x;
}

function isPixelArray(x: unknown): x is PixelArray {
  return x instanceof Uint8Array || x instanceof Uint8ClampedArray || x instanceof Float32Array;
}

/**
 * Validates an image input and returns its pixels on the 0-255 scale; throws a clear error for anything else.
 * @example const px = toPixels({ data: ctx.getImageData(0, 0, 28, 28).data, width: 28, height: 28 });
 */
export function toPixels(image: unknown): Pixels {
  if (typeof image !== 'object' || image === null || !('data' in image)) {
    throw new TypeError(`expected an image: an ImageData-like {data, width, height} or a typed array with {data, shape}; got ${describe(image)}`);
  }
  const { data } = image as { data: unknown };
  if (!isPixelArray(data)) throw new TypeError('image data must be a Uint8Array, Uint8ClampedArray (0-255) or Float32Array (0-1)');
  let width: number;
  let height: number;
  let channels: number;
  if ('shape' in image) {
    const shape = (image as ShapedPixels).shape;
    if (!Array.isArray(shape) || (shape.length !== 2 && shape.length !== 3)) {
      throw new TypeError('image shape must be [height, width] or [height, width, channels]');
    }
    [height, width, channels = 1] = shape as [number, number, number?];
  } else if ('width' in image && 'height' in image) {
    width = (image as ImageDataLike).width;
    height = (image as ImageDataLike).height;
    channels = width > 0 && height > 0 ? data.length / (width * height) : 4;
  } else {
    throw new TypeError('an image needs width and height, or a shape');
  }
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new TypeError(`image ${name} must be a non-negative integer, got ${String(v)}`);
  }
  if (width === 0 || height === 0) throw new RangeError(`the image has zero size (${width}x${height})`);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`image data holds ${data.length} values for ${width}x${height} pixels: that is not 1, 3 or 4 channels`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`image data holds ${data.length} values; ${height}x${width}x${channels} needs ${width * height * channels}`);
  }
  if (data instanceof Float32Array) {
    const scaled = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      // Clamping would keep NaN, and one NaN pixel makes every feature, prototype and later prediction NaN.
      if (!Number.isFinite(v)) throw new RangeError(`pixel value ${v} at index ${i} is not a finite number (float pixels must be 0-1)`);
      scaled[i] = Math.min(1, Math.max(0, v)) * 255;
    }
    return { data: scaled, width, height, channels };
  }
  const bytes = data instanceof Uint8ClampedArray ? new Uint8Array(data.buffer, data.byteOffset, data.length) : data;
  return { data: bytes, width, height, channels };
}

/** Per output position: first source index and the filter weights (triangle filter, widened when shrinking). */
function filterTaps(srcLen: number, dstLen: number): { start: Int32Array; weights: Float32Array[] } {
  const scale = srcLen / dstLen;
  const support = Math.max(1, scale);
  const start = new Int32Array(dstLen);
  const weights: Float32Array[] = [];
  for (let i = 0; i < dstLen; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(srcLen, Math.ceil(center + support));
    const w = new Float32Array(hi - lo);
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const v = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
      w[j - lo] = v;
      sum += v;
    }
    if (sum === 0) {
      w.fill(0);
      w[Math.min(w.length - 1, Math.max(0, Math.floor(center) - lo))] = 1;
      sum = 1;
    }
    for (let k = 0; k < w.length; k++) w[k]! /= sum;
    start[i] = lo;
    weights.push(w);
  }
  return { start, weights };
}

/**
 * Bilinear resize (a triangle filter that widens when shrinking, so downscaling averages instead of aliasing,
 * like PIL's BILINEAR); returns the input unchanged when the size already matches.
 * @example const small = resizePixels(px, 28, 28);
 */
export function resizePixels(p: Pixels, width: number, height: number): Pixels {
  if (p.width === width && p.height === height) return p;
  const c = p.channels;
  const h = filterTaps(p.width, width);
  const v = filterTaps(p.height, height);
  const tmp = new Float32Array(p.height * width * c);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < width; x++) {
      const w = h.weights[x]!;
      const s0 = h.start[x]!;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < w.length; k++) acc += w[k]! * p.data[(y * p.width + s0 + k) * c + ch]!;
        tmp[(y * width + x) * c + ch] = acc;
      }
    }
  }
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const w = v.weights[y]!;
    const s0 = v.start[y]!;
    for (let x = 0; x < width; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < w.length; k++) acc += w[k]! * tmp[((s0 + k) * width + x) * c + ch]!;
        out[(y * width + x) * c + ch] = acc;
      }
    }
  }
  return { data: out, width, height, channels: p.channels };
}

/** Value of output channel `ch` (of `target` channels) at pixel `i`; alpha of a 4-channel target is opaque. */
function channelValue(p: Pixels, i: number, target: number, ch: number): number {
  const c = p.channels;
  const d = p.data;
  if (target === 1) {
    if (c === 1) return d[i]!;
    return LUMA[0] * d[i * c]! + LUMA[1] * d[i * c + 1]! + LUMA[2] * d[i * c + 2]!;
  }
  if (ch === 3) return c === 4 ? d[i * 4 + 3]! : 255;
  return c === 1 ? d[i]! : d[i * c + ch]!;
}

/** Clamped, rounded byte. */
function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/**
 * Packs images (already at the model's size) into the model's input tensor data and shape.
 * @example const { data, dims } = packInput([px], info);
 */
export function packInput(images: readonly Pixels[], info: InferenceModelInfo): { data: Uint8Array | Float32Array; dims: number[] } {
  const [c, h, w] = info.inputSize;
  const n = images.length;
  const hw = h * w;
  if (info.inputLayout === 'float32-nchw') {
    const out = new Float32Array(n * c * hw);
    images.forEach((p, b) => {
      for (let ch = 0; ch < c; ch++) {
        const mean = info.mean[ch]!;
        const std = info.std[ch]!;
        const base = (b * c + ch) * hw;
        // The same arithmetic as the training batches: (pixel / 255 - mean) / std in float64, rounded once.
        for (let i = 0; i < hw; i++) out[base + i] = (channelValue(p, i, c, ch) / 255 - mean) / std;
      }
    });
    return { data: out, dims: [n, c, h, w] };
  }
  const k = info.inputLayout === 'uint8-rgba' ? 4 : c;
  const out = new Uint8Array(n * hw * k);
  images.forEach((p, b) => {
    const base = b * hw * k;
    if (p.channels === k && p.data instanceof Uint8Array) {
      out.set(p.data, base);
      return;
    }
    // Gray sources are replicated into RGB(A), so the graph's luma gives the gray value back.
    for (let i = 0; i < hw; i++) for (let ch = 0; ch < k; ch++) out[base + i * k + ch] = toByte(channelValue(p, i, k, ch));
  });
  return { data: out, dims: [n, h, w, k] };
}

/**
 * Pixels rotated by k quarter turns counter-clockwise (numpy.rot90 on the height/width axes): out[i][j] =
 * in[j][W-1-i] for k = 1. The app rotates example images so that every head of a rotation ensemble gets its own
 * prototype.
 * @example const r90 = rotatePixels(p, 1);
 */
export function rotatePixels(p: Pixels, k: number): Pixels {
  const q = ((k % 4) + 4) % 4;
  let cur = p;
  for (let t = 0; t < q; t++) {
    const { width: w, height: h, channels: c } = cur;
    const out = new (cur.data.constructor as typeof Float32Array)(cur.data.length) as Uint8Array | Float32Array;
    // One turn: output [w rows, h cols]; out[i][j] = in[j][w-1-i].
    for (let i = 0; i < w; i++) {
      for (let j = 0; j < h; j++) {
        for (let ch = 0; ch < c; ch++) out[(i * h + j) * c + ch] = cur.data[(j * w + (w - 1 - i)) * c + ch]!;
      }
    }
    cur = { data: out, width: h, height: w, channels: c };
  }
  return cur;
}
