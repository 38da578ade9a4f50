/**
 * Image-folder datasets: one sub-folder per class holding PNG/JPEG files, the layout of ImageNet-Subset, CUB and
 * users' own photos. Decoding and resizing use `sharp` (libvips: fast, maintained, ships prebuilt binaries in its
 * npm packages, so no compiler or system library is needed).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { allocateSharedBytes, channelStatistics, type ImageDataset, validateDataset } from './dataset.js';

const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg']);

export interface ImageFolderOptions {
  /** [height, width] of every image in the dataset. */
  size: readonly [number, number];
  /** 1: greyscale, 3: RGB (alpha is dropped). */
  channels: 1 | 3;
  /** 'resize' scales each image to `size`; 'require' rejects images of another size with a clear error. */
  sizePolicy?: 'resize' | 'require';
  /** Read only these class sub-folders (in this order); default: every sub-folder, sorted by name. */
  classes?: readonly string[];
  /** Normalisation statistics; default: computed from the images. */
  mean?: readonly number[];
  std?: readonly number[];
  /** Allow class folders without images (their count is 0); default false: an empty class is an error. */
  allowEmptyClasses?: boolean;
}

/**
 * Class sub-folders of `dir` and their image files (sorted, so the dataset order is reproducible).
 * @example listImageFolder('photos/train'); // [{ name: 'cat', files: ['photos/train/cat/1.png', ...] }, ...]
 */
export function listImageFolder(dir: string): { name: string; files: string[] }[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (err) {
    throw new Error(`image folder ${dir} cannot be read: ${(err as Error).message}`);
  }
  const classes = entries.filter((e) => !e.startsWith('.') && statSync(join(dir, e)).isDirectory());
  if (classes.length === 0) throw new Error(`image folder ${dir} has no class sub-folders (expected ${dir}/<class name>/*.png|jpg)`);
  return classes.map((name) => ({
    name,
    files: readdirSync(join(dir, name))
      .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(dir, name, f)),
  }));
}

/**
 * Decodes an image folder into an ImageDataset (labels index the class sub-folders).
 * @example const train = await loadImageFolder('imagenet-subset/train', { size: [224, 224], channels: 3 });
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageDataset> {
  const [height, width] = options.size;
  const channels = options.channels;
  const listed = listImageFolder(dir);
  let selected = listed;
  if (options.classes) {
    const byName = new Map(listed.map((c) => [c.name, c]));
    selected = options.classes.map((name) => {
      const found = byName.get(name);
      if (!found) throw new Error(`image folder ${dir} has no class folder "${name}"; it has: ${listed.map((c) => c.name).join(', ')}`);
      return found;
    });
  }
  if (!options.allowEmptyClasses) {
    const empty = selected.filter((c) => c.files.length === 0).map((c) => c.name);
    if (empty.length) {
      const plural = empty.length > 1;
      throw new Error(`class folder${plural ? 's' : ''} ${empty.map((n) => `"${n}"`).join(', ')} in ${dir} hold${plural ? '' : 's'} no PNG/JPEG images`);
    }
  }
  const count = selected.reduce((a, c) => a + c.files.length, 0);
  const perImage = channels * height * width;
  const images = allocateSharedBytes(count * perImage);
  const labels = new Int32Array(count);
  // Loaded on first use: sharp is a native module that only image folders need, not the embedded datasets.
  const { default: sharp } = await import('sharp');
  let n = 0;
  for (const [label, cls] of selected.entries()) {
    for (const file of cls.files) {
      let pipeline = sharp(file, { failOn: 'error' });
      const meta = await pipeline.metadata().catch((err: Error) => {
        throw new Error(`${file} is not a readable PNG/JPEG image: ${err.message}`);
      });
      if (options.sizePolicy === 'require' && (meta.height !== height || meta.width !== width)) {
        throw new Error(`${file} is ${meta.width}x${meta.height}; this model takes ${width}x${height} images (resize them, or pass --resize)`);
      }
      pipeline = pipeline.resize(width, height, { fit: 'fill' }).removeAlpha();
      pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
      const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== channels) throw new Error(`${file}: decoded ${info.channels} channels, expected ${channels}`);
      // sharp returns interleaved HWC; the dataset is CHW.
      const base = n * perImage;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let c = 0; c < channels; c++) images[base + c * height * width + y * width + x] = data[(y * width + x) * channels + c]!;
        }
      }
      labels[n++] = label;
    }
  }
  const stats = options.mean && options.std ? null : channelStatistics({ images, count, channels, height, width });
  const std = options.std ? [...options.std] : stats!.std.map((s) => (s > 0 ? s : 1));
  const dataset: ImageDataset = {
    name: `image-folder:${basename(dir)}`,
    images,
    labels,
    count,
    channels,
    height,
    width,
    classNames: selected.map((c) => c.name),
    mean: options.mean ? [...options.mean] : stats!.mean,
    std,
  };
  if (count > 0) validateDataset(dataset);
  return dataset;
}
