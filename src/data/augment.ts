/**
 * Training-time augmentation on uint8 NCHW images, written straight into a float32 NCHW batch:
 * random crop with zero padding, random horizontal flip and per-channel normalisation.
 *
 * Everything per pixel goes through one precomputed lookup table (256 floats per channel), so the
 * inner loops are plain indexed copies: this runs for every training step.
 */
import type { ImageDataset } from './dataset.js';
import type { SeededRandom } from '../util/rng.js';

export interface AugmentOptions {
  /**
   * Random-crop padding in pixels: the image is padded with black (raw 0) on every side and a
   * window of the original size is cut at a uniformly random offset in [-padding, padding] per axis,
   * like torchvision's `RandomCrop(size, padding)` before `Normalize`. 0 disables cropping.
   */
  padding?: number;
  /** Mirror left-right with probability 1/2. */
  flip?: boolean;
  /** true (default): (pixel/255 - mean[c]) / std[c]; false: pixel/255. */
  normalize?: boolean;
}

/** The shape and statistics an Augmenter needs from a dataset. */
export type AugmentSource = Pick<ImageDataset, 'channels' | 'height' | 'width' | 'mean' | 'std'>;

/** No augmentation: what evaluation uses. */
export const NO_AUGMENTATION: Readonly<AugmentOptions> = Object.freeze({ padding: 0, flip: false, normalize: true });

/**
 * Precomputed augmentation for one image geometry. Reusable across batches; holds no random state.
 *
 * @example
 * const augmenter = new Augmenter(train, { padding: 4, flip: true });
 * const x = new Float32Array(indices.length * augmenter.imageSize);
 * augmenter.augmentBatch(train.images, indices, rng, x);
 */
export class Augmenter {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly imageSize: number;
  readonly padding: number;
  readonly flip: boolean;
  /** value = pixelTable[channel * 256 + pixel]. */
  readonly pixelTable: Float32Array;

  constructor(source: AugmentSource, options: AugmentOptions = {}) {
    const padding = options.padding ?? 0;
    if (!Number.isInteger(padding) || padding < 0) throw new Error(`augmentation padding must be a non-negative integer, got ${padding}`);
    if (source.mean.length !== source.channels || source.std.length !== source.channels) {
      throw new Error(`augmentation needs one mean and std per channel (${source.channels}), got ${source.mean.length} and ${source.std.length}`);
    }
    this.channels = source.channels;
    this.height = source.height;
    this.width = source.width;
    this.imageSize = source.channels * source.height * source.width;
    this.padding = padding;
    this.flip = options.flip ?? false;
    const normalize = options.normalize ?? true;
    this.pixelTable = new Float32Array(256 * source.channels);
    for (let c = 0; c < source.channels; c++) {
      // One mean and std per channel: checked above.
      const mean = normalize ? source.mean[c]! : 0;
      const std = normalize ? source.std[c]! : 1;
      if (!(std > 0)) throw new Error(`augmentation: std of channel ${c} must be > 0, got ${std}`);
      for (let v = 0; v < 256; v++) this.pixelTable[c * 256 + v] = (v / 255 - mean) / std;
    }
  }

  /** True when batches need random draws (crop or flip enabled). */
  get isRandom(): boolean {
    return this.padding > 0 || this.flip;
  }

  /**
   * Writes one image, shifted by (shiftY, shiftX) with zero fill and optionally mirrored, into `out`.
   * Output pixel (y, x) shows input pixel (y + shiftY, x + shiftX) of the padded image, mirrored afterwards.
   *
   * @example
   * augmenter.transformImage(ds.images, 5 * augmenter.imageSize, x, 0, -2, 3, true);
   */
  transformImage(source: Uint8Array, sourceOffset: number, out: Float32Array, outOffset: number, shiftY: number, shiftX: number, mirror: boolean): void {
    const { channels, height, width, pixelTable } = this;
    // Columns of the output that read real pixels; the rest are padding.
    const firstColumn = mirror ? Math.max(0, shiftX) : Math.max(0, -shiftX);
    const endColumn = mirror ? Math.min(width, width + shiftX) : Math.min(width, width - shiftX);
    for (let c = 0; c < channels; c++) {
      const table = c * 256;
      const padValue = pixelTable[table]!;
      for (let y = 0; y < height; y++) {
        const outRow = outOffset + (c * height + y) * width;
        const sourceY = y + shiftY;
        if (sourceY < 0 || sourceY >= height || firstColumn >= endColumn) {
          out.fill(padValue, outRow, outRow + width);
          continue;
        }
        const sourceRow = sourceOffset + (c * height + sourceY) * width;
        if (firstColumn > 0) out.fill(padValue, outRow, outRow + firstColumn);
        if (endColumn < width) out.fill(padValue, outRow + endColumn, outRow + width);
        if (mirror) {
          const mirrored = sourceRow + width - 1 + shiftX;
          for (let x = firstColumn; x < endColumn; x++) out[outRow + x] = pixelTable[table + source[mirrored - x]!]!;
        } else {
          const shifted = sourceRow + shiftX;
          for (let x = firstColumn; x < endColumn; x++) out[outRow + x] = pixelTable[table + source[shifted + x]!]!;
        }
      }
    }
  }

  /**
   * Augments the images at `indices` into `out` (NCHW float32, at least indices.length*imageSize long).
   * Per image it draws, in this order, the crop row shift, the crop column shift (when padding > 0)
   * and the flip (when enabled), so the result depends only on the rng state.
   *
   * @example
   * augmenter.augmentBatch(train.images, Int32Array.of(4, 8, 15), new SeededRandom(16), x);
   */
  augmentBatch(images: Uint8Array, indices: ArrayLike<number>, rng: SeededRandom | null, out: Float32Array): void {
    const size = this.imageSize;
    if (out.length < indices.length * size) {
      throw new Error(`augmentBatch: output holds ${out.length} floats, ${indices.length} images need ${indices.length * size}`);
    }
    if (this.isRandom && !rng) throw new Error('augmentBatch: random crop or flip needs a SeededRandom');
    const imageCount = images.length / size;
    const span = 2 * this.padding + 1;
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      if (!(index >= 0 && index < imageCount) || !Number.isInteger(index)) {
        throw new Error(`augmentBatch: image index ${index} is outside 0..${imageCount - 1}`);
      }
      let shiftY = 0;
      let shiftX = 0;
      let mirror = false;
      if (this.padding > 0) {
        shiftY = rng!.nextInt(span) - this.padding;
        shiftX = rng!.nextInt(span) - this.padding;
      }
      if (this.flip) mirror = rng!.nextFloat() < 0.5;
      this.transformImage(images, index * size, out, i * size, shiftY, shiftX, mirror);
    }
  }
}
