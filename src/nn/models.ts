/**
 * Backbones declared as data in models/*.json, validated, and built over a ParamSource.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Value } from '../graph/builder.js';
import { flatten, globalAveragePool, max, pad, slice } from '../graph/ops/index.js';
import { packagePath } from '../util/package-root.js';
import { deepFreeze, readOnlyMap } from '../util/read-only.js';
import { basicBlock, convBn } from './layers.js';
import type { ParamSource } from './params.js';

const ConvLayer = z.object({
  out: z.number().int().positive(),
  kernel: z.number().int().positive(),
  stride: z.number().int().positive().default(1),
  relu: z.boolean().default(true),
});

const PlainSpec = z.object({
  name: z.string(),
  description: z.string(),
  family: z.literal('plain'),
  layers: z.array(ConvLayer).min(1),
});

const ResNetSpec = z.object({
  name: z.string(),
  description: z.string(),
  family: z.literal('resnet'),
  stem: ConvLayer,
  stemPool: z.object({ kernel: z.number().int().positive(), stride: z.number().int().positive() }).optional(),
  stages: z.array(z.object({ blocks: z.number().int().positive(), width: z.number().int().positive(), stride: z.number().int().positive() })).min(1),
  lastRelu: z.boolean(),
});

export const ModelSpecSchema = z.discriminatedUnion('family', [PlainSpec, ResNetSpec]);
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

/** The models/*.json files that define the built-in backbones, in registry order. */
const BUILT_IN_MODELS = ['convnet', 'resnet32', 'resnet18'] as const;

// Read from the package folder rather than imported as JSON modules: the compiled code in dist/ and the source in
// src/ sit at different depths, and only the package root has the same models/ beside it in a checkout and an install.
function readBuiltInSpec(name: string): ModelSpec {
  const path = packagePath('models', `${name}.json`);
  const parsed = ModelSpecSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is not a valid model spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Backbones by name. Read-only, specs included: every graph built in the process reads the same specs. */
export const MODEL_REGISTRY: ReadonlyMap<string, ModelSpec> = readOnlyMap(
  new Map(
    BUILT_IN_MODELS.map((name) => {
      const spec = deepFreeze(readBuiltInSpec(name));
      return [spec.name, spec] as const;
    }),
  ),
);

/** The spec of a named model, with a clear error listing the known ones. */
export function getModelSpec(name: string): ModelSpec {
  const spec = MODEL_REGISTRY.get(name);
  if (!spec) throw new Error(`unknown model "${name}"; known models: ${[...MODEL_REGISTRY.keys()].join(', ')}`);
  return spec;
}

export interface BackboneOutput {
  /** The last feature map, before pooling ([N, C, h, w]); self-supervised heads attach here. */
  featureMap: Value;
  /** Global-average-pooled feature vector [N, D]. */
  features: Value;
}

/** Feature dimension of a model. */
export function featureDim(spec: ModelSpec): number {
  return spec.family === 'plain' ? spec.layers.at(-1)!.out : spec.stages.at(-1)!.width;
}

/**
 * Max pooling with "same"-style padding of kernel/2, from strided slices and elementwise Max (exact gradients
 * through Max's rule). Zero padding equals -inf padding here because it always follows a ReLU.
 */
function maxPoolAfterRelu(x: Value, kernel: number, stride: number): Value {
  const p = kernel >> 1;
  const padded = pad(x, [0, 0, p, p, 0, 0, p, p]);
  const oh = Math.floor((x.shape[2]! + 2 * p - kernel) / stride) + 1;
  const ow = Math.floor((x.shape[3]! + 2 * p - kernel) / stride) + 1;
  let out: Value | null = null;
  for (let i = 0; i < kernel; i++) {
    for (let j = 0; j < kernel; j++) {
      const view = slice(padded, { starts: [i, j], ends: [i + stride * (oh - 1) + 1, j + stride * (ow - 1) + 1], axes: [2, 3], steps: [stride, stride] });
      out = out ? max(out, view) : view;
    }
  }
  return out!;
}

/**
 * Builds the backbone on `x` [N, C, H, W].
 * @example const { features } = buildBackbone(getModelSpec('resnet32'), params, x);
 */
export function buildBackbone(spec: ModelSpec, p: ParamSource, x: Value): BackboneOutput {
  let h = x;
  if (spec.family === 'plain') {
    spec.layers.forEach((l, i) => {
      h = convBn(p, `conv${i + 1}`, `bn${i + 1}`, h, l.out, l.kernel, l.stride, l.relu);
    });
  } else {
    h = convBn(p, 'conv1', 'bn1', h, spec.stem.out, spec.stem.kernel, spec.stem.stride, spec.stem.relu);
    if (spec.stemPool) h = maxPoolAfterRelu(h, spec.stemPool.kernel, spec.stemPool.stride);
    spec.stages.forEach((stage, s) => {
      for (let b = 0; b < stage.blocks; b++) {
        const last = s === spec.stages.length - 1 && b === stage.blocks - 1;
        h = basicBlock(p, `layer${s + 1}.${b}`, h, stage.width, b === 0 ? stage.stride : 1, !last || spec.lastRelu);
      }
    });
  }
  return { featureMap: h, features: flatten(globalAveragePool(h), 1) };
}
