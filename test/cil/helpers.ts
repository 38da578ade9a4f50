/**
 * Shared fixtures for the class-incremental tests: tiny synthetic image folders and protocols, reference rotations,
 * and the gradient check of a model variant's loss.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import sharp from 'sharp';
import { checkGradients, type GradCheckReport } from '../../src/autodiff/gradcheck.js';
import { combineLosses, type LossPiece } from '../../src/cil/losses.js';
import { ProtocolSchema, type Protocol } from '../../src/cil/protocol.js';
import type { ModelVariant } from '../../src/cil/variants.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { GraphBuilder, type Value } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { buildBackbone, getModelSpec, ModelSpecSchema } from '../../src/nn/models.js';
import type { ModelSetup } from '../../src/cil/learner.js';
import { ConstantParams, InputParams, type BatchNormMode, type ParamSource, type StateDict } from '../../src/nn/params.js';
import { createBackend } from '../../src/runtime/backend.js';

/** A fresh temporary folder removed after the test. */
export function temporaryFolder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-cil-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fresh temporary folder removed after the whole test file, for a fixture that several tests share (one protocol
 * run checked from several sides). Call it at the top level of the test file.
 */
export function fileTemporaryFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-cil-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Greyscale PNG of `side` x `side` pixels: class k lights up a band of rows at a class-specific position, plus
 * deterministic noise, so a tiny network separates the classes quickly.
 */
export async function writeClassImage(path: string, classIndex: number, sample: number, side = 8, width = side): Promise<void> {
  const pixels = Buffer.alloc(side * width);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < width; x++) {
      const band = Math.floor(y / 2) % 4 === classIndex % 4 ? 200 : 30;
      const noise = ((y * 31 + x * 17 + sample * 13 + classIndex * 7) % 23) - 11;
      pixels[y * width + x] = Math.max(0, Math.min(255, band + noise + (classIndex >= 4 ? 40 * ((x >> 1) % 2) : 0)));
    }
  }
  await sharp(pixels, { raw: { width, height: side, channels: 1 } })
    .png()
    .toFile(path);
}

/** An image folder with `perClass` images of each named class (class index = position in `classes`). */
export async function writeImageFolder(
  dir: string,
  classes: readonly string[],
  perClass: number,
  opts: { side?: number; offset?: number } = {},
): Promise<void> {
  for (const [k, name] of classes.entries()) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let i = 0; i < perClass; i++) await writeClassImage(join(dir, name, `${String(i).padStart(3, '0')}.png`), k + (opts.offset ?? 0), i, opts.side ?? 8);
  }
}

/** A protocol over an 8x8 greyscale image folder: 2 base classes, then `phases` phases of 1, tiny schedules. */
export function tinyProtocol(phases: number, classes: number): Protocol {
  return ProtocolSchema.parse({
    name: 'tiny',
    data: { kind: 'image-folder', trainDir: 'train', testDir: 'val', imageSize: [8, 8], channels: 1 },
    model: 'convnet',
    classOrder: { kind: 'explicit', classes: Array.from({ length: classes }, (_, i) => i) },
    baseClasses: 2,
    increment: 1,
    incrementalPhases: phases,
    schedules: {
      base: { epochs: 2, batchSize: 8, lr: { backbone: 0.05, classifier: 0.05 }, milestones: [1], momentum: 0.9, weightDecay: 5e-4 },
      incremental: { epochs: 2, batchSize: 8, lr: { backbone: 0.001, classifier: 0.01 }, milestones: [1], momentum: 0.9, weightDecay: 5e-4 },
    },
    laterPhaseBn: 'frozen',
    augmentation: { padding: 1, flip: true },
    seed: 3,
    evalBatchSize: 16,
  });
}

/** Parameters taken from given graph values (the gradient check's inputs), by scoped name. */
export class GivenParams implements ParamSource {
  group = 'backbone';
  constructor(
    readonly graph: GraphBuilder,
    readonly bnMode: BatchNormMode,
    private readonly values: Map<string, Value>,
  ) {}
  param(name: string): Value {
    const v = this.values.get(this.graph.scoped(name));
    if (!v) throw new Error(`no input for ${this.graph.scoped(name)}`);
    return v;
  }
  buffer(name: string): Value {
    return this.param(name);
  }
  updateBuffer(): void {}
}

/** Deterministic test values in (-0.8, 0.8), a different sequence for each `k`. */
export const seeded = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k * 0.9) * 0.8);

/** numpy.rot90(m, k) of one [H, W] plane: k = 1 gives out[i][j] = in[j][W-1-i]. */
export function referenceRotation(plane: Float32Array, h: number, w: number, k: number): { data: Float32Array; h: number; w: number } {
  let cur = { data: plane, h, w };
  for (let t = 0; t < ((k % 4) + 4) % 4; t++) {
    const out = new Float32Array(cur.data.length);
    for (let i = 0; i < cur.w; i++) for (let j = 0; j < cur.h; j++) out[i * cur.h + j] = cur.data[j * cur.w + (cur.w - 1 - i)]!;
    cur = { data: out, h: cur.w, w: cur.h };
  }
  return cur;
}

/** Each [H, W] plane of an NCHW block rotated by k with the reference. */
export function referenceRotateBatch(x: Float32Array, n: number, c: number, h: number, k: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let p = 0; p < n * c; p++) out.set(referenceRotation(x.subarray(p * h * h, (p + 1) * h * h), h, h, k).data, p * h * h);
  return out;
}

/** A dataset whose images are rotated by k quarter turns in plain code (square images). */
export function rotatedDataset(ds: ImageDataset, k: number): ImageDataset {
  const plane = ds.height * ds.width;
  const images = new Uint8Array(ds.images.length);
  for (let p = 0; p < ds.count * ds.channels; p++) {
    const src = Float32Array.from(ds.images.subarray(p * plane, (p + 1) * plane));
    images.set(Uint8Array.from(referenceRotation(src, ds.height, ds.width, k).data), p * plane);
  }
  return { ...ds, images };
}

/** Runs a built graph once on CPU with float32 feeds and returns every output. */
export async function runGraph(
  g: GraphBuilder,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const { ort, session } = await createBackend(encodeModel(g.toModel()), { threads: 1 });
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { data: v.data as Float32Array, dims: v.dims }]));
  } finally {
    await session.release();
  }
}

/** A one-layer plain backbone (conv 2->3, BN, ReLU, global pool) for gradient checks. */
export const TINY_SPEC = ModelSpecSchema.parse({ name: 'tiny', description: 'gradcheck', family: 'plain', layers: [{ out: 3, kernel: 3 }] });

/** Every parameter a variant declares (name, shape, trainable or buffer), from a dry build. */
function variantParams(variant: ModelVariant, inputShape: [number, number, number], classes: number) {
  const g = new GraphBuilder('dry');
  const p = new InputParams(g, 'eval');
  variant.stateForward(TINY_SPEC, p, g.input('x', 'float32', [1, ...inputShape]), classes);
  return [...p.infos.values()];
}

/**
 * The gradient check of a variant's full later-phase (or phase-0) loss under a method's loss pieces, on TINY_SPEC;
 * asserts the loss has exactly `expectParts` and that every checked gradient matches finite differences.
 */
export async function checkVariantLoss(opts: {
  variant: ModelVariant;
  pieces: LossPiece[];
  x: [number, number, number, number];
  labels: bigint[];
  classes: number;
  bnMode: BatchNormMode;
  expectParts: string[];
}): Promise<GradCheckReport> {
  const [, c, h, w] = opts.x;
  const infos = variantParams(opts.variant, [c, h, w], opts.classes);
  const teacher: StateDict = new Map(
    infos
      .filter((p) => p.name.startsWith('conv') || p.name.startsWith('bn'))
      .map((p, k) => [
        p.name,
        p.name.endsWith('running_var')
          ? seeded(p.shape[0]!, k).map((v) => 1 + Math.abs(v))
          : seeded(
              p.shape.reduce((a, d) => a * d, 1),
              k + 10,
            ),
      ]),
  );
  const inputs = [
    { name: 'x', shape: opts.x },
    { name: 'y', shape: [opts.x[0]], int64: BigInt64Array.from(opts.labels) },
    ...infos.map((p, k) => ({
      name: p.name,
      shape: p.shape,
      differentiable: p.kind === 'trainable',
      data: p.name.endsWith('running_var') ? seeded(p.shape[0]!, k).map((v) => 1 + Math.abs(v)) : p.name.endsWith('.sigma') ? Float32Array.of(3) : undefined,
    })),
  ];
  let parts: string[] = [];
  const report = await checkGradients(
    inputs,
    ([x, y, ...params], g) => {
      const student = new GivenParams(g, opts.bnMode, new Map(infos.map((p, i) => [p.name, params[i]!])));
      const out = opts.variant.trainForward({
        graph: g,
        spec: TINY_SPEC,
        params: student,
        x: x!,
        y: y!,
        classes: opts.classes,
        teacherFeatures: (batch: Value) => buildBackbone(TINY_SPEC, new ConstantParams(g, 'eval', teacher, 'teacher.'), batch).features,
      });
      const combined = combineLosses(opts.pieces, { graph: g, targets: y!, ...out });
      parts = Object.keys(combined.parts);
      return combined.loss;
    },
    { directions: 1, coordinates: 2 },
  );
  assert.deepEqual(parts, opts.expectParts);
  assert.ok(report.ok, report.failures.join('\n'));
  return report;
}

/** Input shape of tinyProtocol's 8x8 grayscale images. */
export const TINY_INPUT: [number, number, number] = [1, 8, 8];

/**
 * The model setup a learner over tinyProtocol's data uses in tests: convnet, one thread, no workers.
 * @example const learner = new IncrementalLearner(policy, tinySetup(protocol.seed), state);
 */
export function tinySetup(seed: number): ModelSetup {
  return { model: 'convnet', spec: getModelSpec('convnet'), inputShape: TINY_INPUT, backend: { threads: 1 }, evalBatchSize: 16, workers: 0, seed };
}
