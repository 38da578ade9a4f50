/** Shared fixtures for the class-incremental tests: tiny synthetic image folders and protocols. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import sharp from 'sharp';
import { ProtocolSchema, type Protocol } from '../../src/cil/protocol.js';
import type { GraphBuilder, Value } from '../../src/graph/builder.js';
import type { BatchNormMode, ParamSource } from '../../src/nn/params.js';

/** A fresh temporary folder removed after the test. */
export function temporaryFolder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-cil-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
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
  await sharp(pixels, { raw: { width, height: side, channels: 1 } }).png().toFile(path);
}

/** An image folder with `perClass` images of each named class (class index = position in `classes`). */
export async function writeImageFolder(dir: string, classes: readonly string[], perClass: number, opts: { side?: number; offset?: number } = {}): Promise<void> {
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
  constructor(readonly graph: GraphBuilder, readonly bnMode: BatchNormMode, private readonly values: Map<string, Value>) {}
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
