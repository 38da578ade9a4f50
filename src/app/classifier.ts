/**
 * The app-facing classifier over an exported onnx-cil model: classify images, add classes from a few examples
 * (no training), and write the updated model. Browser-safe: the runtime comes from the backend module and image
 * decoding from the entry point (browser.ts or node.ts).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { decodeModel, encodeModel, type ModelProto } from '../graph/onnx-proto.js';
import { createBackend, type Backend, type BackendOptions } from '../runtime/backend.js';
import { FEATURES_OUTPUT, inputNameOf, parseModelInfo, PROBABILITIES_OUTPUT, type InferenceModelInfo } from '../export/metadata.js';
import { packInput, resizePixels, rotatePixels, toPixels, type ImageInput, type Pixels } from './image.js';
import {
  appendClassifierRows,
  appendClassStatistics,
  checkModelConsistency,
  classifierRotations,
  classifierWeight,
  mahalanobisStatistics,
  prototypeOf,
} from './model-edit.js';

export type { ImageInput, ImageDataLike, ShapedPixels, PixelArray } from './image.js';
export type { InferenceModelInfo, InputLayout } from '../export/metadata.js';

/** How the model runs: runtime package, threads, provider (see BackendOptions). */
export type ClassifierOptions = Pick<BackendOptions, 'runtime' | 'device' | 'deviceId' | 'threads' | 'webProvider' | 'optimization'>;

export interface Prediction {
  label: string;
  probability: number;
  /** Output index of the class. */
  index: number;
}

export interface ClassifyOptions {
  /** How many classes to return, most probable first (default 5, at most the number of classes). */
  topK?: number;
}

export interface NewClass {
  label: string;
  /** A few example images of the class. */
  images: readonly unknown[];
}

/** Images per session run when classifying or embedding many at once. */
const RUN_BATCH = 32;

/**
 * An exported model in an inference session. `I` is the image type the entry point accepts.
 * @example
 * const clf = await Classifier.fromBytes(bytes, { runtime: 'web' });
 * const [best] = await clf.classify({ data, width: 28, height: 28 }, { topK: 1 });
 */
export class Classifier<I = ImageInput> {
  private disposed = false;

  protected constructor(
    private model: ModelProto,
    private bytes: Uint8Array,
    private infoValue: InferenceModelInfo,
    private backend: Backend,
    protected readonly options: ClassifierOptions,
  ) {}

  /** Opens exported model bytes; throws for models that onnx-cil did not export. */
  static async fromBytes(bytes: Uint8Array | ArrayBuffer, options: ClassifierOptions = {}): Promise<Classifier> {
    const parts = await Classifier.open(bytes, options);
    return new Classifier(parts.model, parts.bytes, parts.info, parts.backend, options);
  }

  /** Decodes, validates and starts a session: the shared part of every entry point's loader. */
  protected static async open(input: Uint8Array | ArrayBuffer, options: ClassifierOptions, source = 'the model') {
    if (!(input instanceof Uint8Array) && !(input instanceof ArrayBuffer)) {
      throw new TypeError(`expected model bytes (Uint8Array or ArrayBuffer), got ${input === null ? 'null' : typeof input}`);
    }
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    if (bytes.byteLength === 0) throw new Error(`${source} is empty`);
    let model: ModelProto;
    try {
      model = decodeModel(bytes);
    } catch (err) {
      throw new Error(`${source} cannot be read: ${(err as Error).message} (is it an exported .onnx model, complete and undamaged?)`);
    }
    const info = parseModelInfo(model.metadata_props ?? [], source);
    const inputs = model.graph.input.map((v) => v.name);
    const outputs = model.graph.output.map((v) => v.name);
    const expected = inputNameOf(info.inputLayout);
    if (!inputs.includes(expected) || !outputs.includes(PROBABILITIES_OUTPUT) || !outputs.includes(FEATURES_OUTPUT)) {
      throw new Error(`${source} does not have the input "${expected}" and outputs "${PROBABILITIES_OUTPUT}", "${FEATURES_OUTPUT}" its metadata promises`);
    }
    checkModelConsistency(model, info, source);
    const backend = await createBackend(bytes, options);
    return { model, bytes, info, backend };
  }

  /** The model's metadata: class names in output order, input size and layout, mean/std, method... */
  get info(): Readonly<InferenceModelInfo> {
    return this.infoValue;
  }

  get classNames(): readonly string[] {
    return this.infoValue.classNames;
  }

  /** Which runtime device runs the model (cpu, cuda, wasm, webgpu). */
  get device(): string {
    return this.backend.device;
  }

  /** Turns one accepted image into pixels; entry points override it to add their own sources (files, canvases). */
  protected async decode(image: I): Promise<Pixels> {
    return toPixels(image);
  }

  /** Decodes and resizes images; an error names the image's index when there are several (or `alwaysIndex`). */
  private async prepare(images: readonly I[], alwaysIndex = false): Promise<Pixels[]> {
    if (!Array.isArray(images)) throw new TypeError('expected an array of images');
    const [, h, w] = this.infoValue.inputSize;
    const out: Pixels[] = [];
    for (const [i, image] of images.entries()) {
      try {
        out.push(resizePixels(await this.decode(image), w, h));
      } catch (err) {
        const e = err as Error;
        e.message = images.length > 1 || alwaysIndex ? `image ${i}: ${e.message}` : e.message;
        throw e;
      }
    }
    return out;
  }

  private async run(pixels: readonly Pixels[]): Promise<{ probabilities: Float32Array; features: Float32Array }> {
    if (this.disposed) throw new Error('this classifier was disposed');
    const { ort, session } = this.backend;
    const { data, dims } = packInput(pixels, this.infoValue);
    const feeds: Record<string, Tensor> = {
      [inputNameOf(this.infoValue.inputLayout)]: data instanceof Float32Array ? new ort.Tensor('float32', data, dims) : new ort.Tensor('uint8', data, dims),
    };
    const out: InferenceSession.ReturnType = await session.run(feeds);
    return {
      probabilities: (await out[PROBABILITIES_OUTPUT]!.getData()) as Float32Array,
      features: (await out[FEATURES_OUTPUT]!.getData()) as Float32Array,
    };
  }

  private async runAll(pixels: readonly Pixels[]): Promise<{ probabilities: Float32Array; features: Float32Array }> {
    const classes = this.infoValue.classNames.length;
    const probabilities = new Float32Array(pixels.length * classes);
    let features = new Float32Array(0);
    for (let start = 0; start < pixels.length; start += RUN_BATCH) {
      const part = await this.run(pixels.slice(start, start + RUN_BATCH));
      const dim = part.features.length / Math.min(RUN_BATCH, pixels.length - start);
      if (features.length === 0) features = new Float32Array(pixels.length * dim);
      probabilities.set(part.probabilities, start * classes);
      features.set(part.features, start * dim);
    }
    return { probabilities, features };
  }

  /**
   * The top-k classes of one image, most probable first.
   * @example const top = await clf.classify({ data: imageData.data, width: 28, height: 28 }, { topK: 3 });
   */
  async classify(image: I, opts: ClassifyOptions = {}): Promise<Prediction[]> {
    return (await this.classifyBatch([image], opts))[0]!;
  }

  /**
   * The top-k classes of each image (one session run per 32 images).
   * @example const results = await clf.classifyBatch([a, b, c], { topK: 1 });
   */
  async classifyBatch(images: readonly I[], opts: ClassifyOptions = {}): Promise<Prediction[][]> {
    const classes = this.infoValue.classNames.length;
    const k = opts.topK ?? 5;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK must be a positive integer, got ${String(k)}`);
    if (images.length === 0) return [];
    const { probabilities } = await this.runAll(await this.prepare(images));
    return images.map((_, r) => {
      const row = probabilities.subarray(r * classes, (r + 1) * classes);
      const order = Array.from({ length: classes }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
      return order.slice(0, Math.min(k, classes)).map((index) => ({ label: this.infoValue.classNames[index]!, probability: row[index]!, index }));
    });
  }

  /**
   * Class probabilities [images x classes] and L2-normalised features [images x dim], row-major.
   * @example const { probabilities, features } = await clf.infer(images);
   */
  async infer(images: readonly I[]): Promise<{ probabilities: Float32Array; features: Float32Array }> {
    if (images.length === 0) throw new RangeError('infer needs at least one image; it was given an empty array');
    return this.runAll(await this.prepare(images));
  }

  /**
   * Adds classes from a few example images each, without training, as the model's readout says. Classifier heads:
   * each class's row is the L2-normalised mean of the L2-normalised features of its images (the prototype rule of
   * training), appended to the cosine classifier; a rotation ensemble gets a row in every head, head k's from the
   * `features` of the images rotated by k quarter turns, as in training. Gaussian class statistics: each class's
   * mean and covariance of those features, the covariance shrunk towards the model's pooled covariance and ridged
   * with its options (so one image is enough), appended as mean and precision matrix.
   * Existing entries stay unchanged; class names and metadata are updated and the session restarts on the new model.
   * @example await clf.addClasses([{ label: 'Mug', images: [img1, img2, img3] }]);
   */
  async addClasses(classes: readonly NewClass[]): Promise<void> {
    if (!Array.isArray(classes) || classes.length === 0) throw new TypeError('addClasses expects a non-empty array of {label, images}');
    const statistics = this.infoValue.readout.kind === 'mahalanobis';
    if (!statistics && this.infoValue.head !== 'cosine') {
      throw new Error(`classes can be added only to models with a cosine classifier or Gaussian class statistics; this one has a ${this.infoValue.head} head`);
    }
    const seen = new Set(this.infoValue.classNames);
    for (const c of classes) {
      if (typeof c?.label !== 'string' || c.label.trim() === '') throw new TypeError('every new class needs a non-empty string label');
      if (this.infoValue.classNames.includes(c.label)) throw new Error(`the model already has a class "${c.label}"`);
      if (seen.has(c.label)) throw new Error(`the label "${c.label}" is given twice`);
      seen.add(c.label);
      if (!Array.isArray(c.images) || c.images.length === 0) throw new Error(`class "${c.label}" has no images`);
    }
    const dim = statistics ? mahalanobisStatistics(this.model).dim : classifierWeight(this.model).dim;
    const rotations = statistics ? [0] : classifierRotations(this.model);
    // features[i].get(r): the features of class i's images rotated by r quarter turns.
    const features: Map<number, Float32Array>[] = [];
    for (const c of classes) {
      let pixels: Pixels[];
      try {
        pixels = await this.prepare(c.images as I[], true);
      } catch (err) {
        (err as Error).message = `class "${c.label}": ${(err as Error).message}`;
        throw err;
      }
      const perRotation = new Map<number, Float32Array>();
      for (const r of rotations) {
        const out = (await this.runAll(r === 0 ? pixels : pixels.map((p) => rotatePixels(p, r)))).features;
        const bad = out.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          throw new Error(
            `class "${c.label}": image ${Math.floor(bad / dim)}: the model computed non-finite features from it; the model's weights are damaged (export it again from a good checkpoint)`,
          );
        }
        perRotation.set(r, out);
      }
      features.push(perRotation);
    }
    // Edit a copy so that a failure leaves the classifier as it was.
    const model = decodeModel(this.bytes);
    const labels = classes.map((c) => c.label);
    let info: InferenceModelInfo;
    if (statistics) {
      info = appendClassStatistics(
        model,
        this.infoValue,
        features.map((f) => f.get(0)!),
        labels,
      );
    } else {
      const rows = new Map(rotations.map((r) => [r, new Float32Array(classes.length * dim)]));
      for (const [i, f] of features.entries()) for (const r of rotations) rows.get(r)!.set(prototypeOf(f.get(r)!, dim), i * dim);
      info = appendClassifierRows(model, this.infoValue, rows, labels);
    }
    const bytes = encodeModel(model);
    const backend = await createBackend(bytes, this.options);
    const old = this.backend;
    this.model = model;
    this.bytes = bytes;
    this.infoValue = info;
    this.backend = backend;
    await old.session.release();
  }

  /**
   * The current model as ONNX bytes (with any added classes), loadable by `loadClassifier` and any ONNX tool.
   * @example const blob = new Blob([clf.toBytes()], { type: 'application/octet-stream' });
   */
  toBytes(): Uint8Array<ArrayBuffer> {
    return this.bytes.slice();
  }

  /** Releases the inference session; the classifier cannot be used afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.backend.session.release();
  }
}
