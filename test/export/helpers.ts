/** Shared fixtures of the export tests: small checkpoints with non-trivial BatchNorm statistics, made in milliseconds. */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { STATISTICS_KEYS } from '../../src/cil/learner.js';
import { allocateSharedBytes, type ImageDataset } from '../../src/data/dataset.js';
import { SeededRandom } from '../../src/util/rng.js';
import type { Value } from '../../src/graph/builder.js';
import { classMoments, pooledCovariance, type ShrinkageOptions } from '../../src/nn/class-statistics.js';
import { cosineHead, linearHead } from '../../src/nn/heads.js';
import { buildBackbone, getModelSpec } from '../../src/nn/models.js';
import type { ParamSource, StateDict } from '../../src/nn/params.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointContents } from '../../src/train/checkpoint.js';
import type { ModelMeta } from '../../src/train/classifier.js';
import { predict, type Predictions } from '../../src/train/evaluate.js';
import { EvalSession, completeState } from '../../src/train/session.js';
import { buildEvalGraph } from '../../src/train/training-graph.js';

/** What examples/web/main.ts puts on `window` for automated tests (pixels cross the page boundary as plain arrays). */
export interface DemoWindow {
  onnxCilDemo: {
    ready: Promise<void>;
    classify(image: { data: number[]; width: number; height: number }, topK?: number): Promise<{ label: string; probability: number; index: number }[]>;
    addClass(label: string, images: { data: number[]; width: number; height: number }[]): Promise<void>;
    toBytes(): number[];
    classNames(): string[];
  };
}

export interface FixtureOptions {
  model: 'convnet' | 'resnet32';
  head?: 'cosine' | 'linear';
  classNames: string[];
  inputShape: [number, number, number];
  mean: number[];
  std: number[];
  seed?: number;
  /** Extra metadata (method, accuracy...) merged into the checkpoint's. */
  meta?: Record<string, unknown>;
}

/**
 * The convnet fixture for the first `classCount` classes of a 1x28x28 dataset, with its names, mean and std.
 * @example makeCheckpoint(grayConvnetFixture(FMNIST, 8, 3));
 */
export function grayConvnetFixture(ds: ImageDataset, classCount: number, seed?: number): FixtureOptions {
  const fixture: FixtureOptions = { model: 'convnet', classNames: ds.classNames.slice(0, classCount), inputShape: [1, 28, 28], mean: ds.mean, std: ds.std };
  return seed === undefined ? fixture : { ...fixture, seed };
}

function forwardOf(opts: FixtureOptions) {
  const spec = getModelSpec(opts.model);
  return (params: ParamSource, x: Value) => {
    const { features } = buildBackbone(spec, params, x);
    const head = opts.head === 'linear' ? linearHead : cosineHead;
    return { logits: head(params, 'fc', features, opts.classNames.length), features };
  };
}

/**
 * A checkpoint with initial weights and randomised BatchNorm scale, shift and running statistics (so that folding
 * changes every convolution), encoded and decoded like a saved one.
 */
export function makeCheckpoint(opts: FixtureOptions): { bytes: Uint8Array; checkpoint: CheckpointContents<ModelMeta> } {
  const forward = forwardOf(opts);
  const graph = buildEvalGraph({ name: 'fixture', batchSize: 1, inputShape: opts.inputShape, forward: ({ params, x }) => forward(params, x) });
  const state: StateDict = completeState(graph.params, new Map(), opts.seed ?? 7);
  const rng = new SeededRandom(opts.seed ?? 7);
  const shapes = new Map<string, number[]>();
  for (const p of graph.params) {
    shapes.set(p.name, [...p.shape]);
    const v = state.get(p.name)!;
    const u = () => rng.nextFloat();
    if (p.name.endsWith('running_mean')) for (let i = 0; i < v.length; i++) v[i] = (u() - 0.5) * 0.4;
    else if (p.name.endsWith('running_var')) for (let i = 0; i < v.length; i++) v[i] = 0.5 + u() * 1.5;
    else if (/bn\d*\.weight$|downsample\.1\.weight$/.test(p.name)) for (let i = 0; i < v.length; i++) v[i] = 0.5 + u();
    else if (/bn\d*\.bias$|downsample\.1\.bias$/.test(p.name)) for (let i = 0; i < v.length; i++) v[i] = (u() - 0.5) * 0.4;
  }
  const meta: ModelMeta & Record<string, unknown> = {
    kind: 'classifier',
    model: opts.model,
    head: opts.head ?? 'cosine',
    classNames: opts.classNames,
    inputShape: opts.inputShape,
    mean: opts.mean,
    std: opts.std,
    dataset: 'fixture',
    ...opts.meta,
  };
  const bytes = encodeCheckpoint({ meta, state, shapes, inputShape: opts.inputShape, inference: ({ params, x }) => forward(params, x) });
  return { bytes, checkpoint: decodeCheckpoint<ModelMeta>(bytes) };
}

/** Every output of the checkpoint's evaluation graph (`logits`, `features`) over the given positions of a dataset. */
export async function checkpointOutputs(opts: FixtureOptions, state: StateDict, ds: ImageDataset, indices?: ArrayLike<number>): Promise<Predictions> {
  const forward = forwardOf(opts);
  const graph = buildEvalGraph({ name: 'fixture-outputs', batchSize: 64, inputShape: opts.inputShape, forward: ({ params, x }) => forward(params, x) });
  const evaluator = await EvalSession.create(graph, 64, opts.inputShape);
  try {
    return await predict(evaluator, ds, state, indices ? { indices } : {});
  } finally {
    await evaluator.release();
  }
}

/**
 * A `gauss` checkpoint made from a fixture checkpoint: the Gaussian statistics (counts, means, covariances of the
 * unit features) of the images of `ds` whose labels are the fixture's classes, and their pooled covariance, as the
 * learner keeps them; the method's config in the metadata.
 */
export async function withClassStatistics(
  opts: FixtureOptions,
  checkpoint: CheckpointContents<ModelMeta>,
  ds: ImageDataset,
  config: ShrinkageOptions = { priorStrength: 20, shrinkage: 0.1 },
): Promise<CheckpointContents<ModelMeta>> {
  const classes = opts.classNames.length;
  const indices = Array.from({ length: ds.count }, (_, i) => i).filter((i) => ds.labels[i]! < classes);
  const p = await checkpointOutputs(opts, checkpoint.state, ds, indices);
  const dim = p.outputs['features']!.length / p.count;
  const m = classMoments(
    p.outputs['features']!,
    p.targets,
    dim,
    Array.from({ length: classes }, (_, c) => c),
  );
  const state = new Map(checkpoint.state);
  state.set(STATISTICS_KEYS.counts, Float32Array.from(m.counts));
  state.set(STATISTICS_KEYS.means, Float32Array.from(m.means));
  state.set(STATISTICS_KEYS.covariances, Float32Array.from(m.covariances));
  state.set(STATISTICS_KEYS.pooled, Float32Array.from(pooledCovariance(m)));
  return { ...checkpoint, meta: { ...checkpoint.meta, method: 'gauss', methodConfig: config }, state };
}

/** Logits of the checkpoint's evaluation graph (the training code's own evaluation path) over a dataset. */
export async function checkpointLogits(opts: FixtureOptions, state: StateDict, ds: ImageDataset): Promise<Float32Array> {
  const forward = forwardOf(opts);
  const graph = buildEvalGraph({
    name: 'fixture-eval',
    batchSize: 64,
    inputShape: opts.inputShape,
    forward: ({ params, x }) => ({ logits: forward(params, x).logits }),
  });
  const evaluator = await EvalSession.create(graph, 64, opts.inputShape);
  try {
    return (await predict(evaluator, ds, state)).outputs['logits']!;
  } finally {
    await evaluator.release();
  }
}

/** Row-wise softmax (float64 sums). */
export function softmaxRows(logits: Float32Array, width: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / width; r++) {
    const row = logits.subarray(r * width, (r + 1) * width);
    const max = Math.max(...row);
    let sum = 0;
    for (let j = 0; j < width; j++) sum += Math.exp(row[j]! - max);
    for (let j = 0; j < width; j++) out[r * width + j] = Math.exp(row[j]! - max) / sum;
  }
  return out;
}

/** Index of the largest value of each row. */
export function argmaxRows(scores: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < scores.length / width; r++) {
    let best = 0;
    for (let j = 1; j < width; j++) if (scores[r * width + j]! > scores[r * width + best]!) best = j;
    out.push(best);
  }
  return out;
}

/** Gap between the two largest values of a row: argmax comparisons are meaningful only above float noise. */
export function topMargin(scores: Float32Array, width: number, r: number): number {
  const row = [...scores.subarray(r * width, (r + 1) * width)].sort((a, b) => b - a);
  return row[0]! - (row[1] ?? -Infinity);
}

/** `count` smooth synthetic images (sums of random sinusoids), uint8 NCHW, with labels 0..classes-1. */
export function syntheticDataset(count: number, shape: [number, number, number], classes: number, seed = 3): ImageDataset {
  const [c, h, w] = shape;
  const rng = new SeededRandom(seed);
  const images = allocateSharedBytes(count * c * h * w);
  for (let n = 0; n < count; n++) {
    for (let ch = 0; ch < c; ch++) {
      const fx = rng.nextFloat() * 0.6;
      const fy = rng.nextFloat() * 0.6;
      const phase = rng.nextFloat() * 6.28;
      const base = rng.nextFloat() * 80;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          images[((n * c + ch) * h + y) * w + x] = Math.round(base + 80 + 80 * Math.sin(fx * x + fy * y + phase) * (0.5 + rng.nextFloat() * 0.5));
        }
      }
    }
  }
  return {
    name: 'synthetic/test',
    images,
    labels: Int32Array.from({ length: count }, (_, i) => i % classes),
    count,
    channels: c,
    height: h,
    width: w,
    classNames: Array.from({ length: classes }, (_, i) => `class-${i}`),
    mean: Array(c).fill(0.5),
    std: Array(c).fill(0.25),
  };
}

/** Whether Debian's python3-onnx is importable (the checker tests skip visibly otherwise). */
export const HAVE_PYTHON_ONNX = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

/** Runs onnx.checker.check_model(full_check=True) on a file; returns the error text, or null when it passes. */
export function onnxCheck(path: string): string | null {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', path], {
    encoding: 'utf8',
  });
  return r.status === 0 ? null : r.stderr || `exit ${r.status}`;
}

/** Chromium for the browser tests: $CHROMIUM_PATH or Debian's package. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** Why the browser tests skip (false: they run). */
export const CHROMIUM_SKIP = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;

/**
 * Headless Chromium with a fresh profile in `profileDir`, without the background connections a closed network
 * refuses.
 * @example const context = await launchChromium(join(dir, 'profile')); const page = await context.newPage();
 */
export async function launchChromium(profileDir: string): Promise<import('playwright-core').BrowserContext> {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
