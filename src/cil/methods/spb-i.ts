/**
 * SPB-I (instance-level self-supervision): SPB plus a self-supervised loss L_in added to the classification term,
 * trained in every phase: phase 0 trains CE + w * L_in, later phases (Nnc/Noc) * (CE + w * L_in) + (Noc/Nnc) * L_em.
 * Default task, rotation prediction: the extractor's last feature map -> two residual BasicBlocks -> global average
 * pool -> cosine classifier over the 4 angles, on images rotated by a random angle (a quarter of every shuffled
 * batch per angle) or by every angle. Contrastive task: 2-layer MLP projection to 128-D, temperature 0.1,
 * positives the other augmented views of the same image (4 views), negatives every other row of the batch.
 * Parameter groups: the rotation head's BasicBlocks train with the backbone's learning rate, its angle classifier
 * and the contrastive projection with the classifier's. Evaluation reads the class head alone.
 */
import { z } from 'zod';
import type { Value } from '../../graph/builder.js';
import { concat, slice } from '../../graph/ops/index.js';
import { contrastiveLoss, crossEntropy } from '../../nn/functional.js';
import { projectionHead, rotationHead } from '../../nn/heads.js';
import type { ModelSpec } from '../../nn/models.js';
import type { ParamSource } from '../../nn/params.js';
import { fourRotations, QUARTER_TURNS, rotateByQuarters } from '../../nn/rotations.js';
import { augmentedViews } from '../../nn/views.js';
import {
  backboneOn,
  classifierOn,
  lazy,
  MAIN_HEAD,
  singleHeadVariant,
  type EvalOutputs,
  type ModelVariant,
  type TrainForward,
  type TrainForwardContext,
} from '../variants.js';
import type { MethodDefinition } from './method.js';
import { spbPolicy, SpbConfigSchema } from './spb.js';

/** SPB-I's instance-level self-supervised task. */
export type SelfSupervisedTask =
  | {
      kind: 'rotation';
      /** `random`: each image rotated once (quarters of the batch by 0/90/180/270); `every`: all four rotations. */
      angles: 'random' | 'every';
    }
  | {
      kind: 'contrastive';
      /** Augmented views per image (view 0 is the image itself). */
      views: number;
      /** Translation of the shifted views in pixels. */
      shift: number;
      temperature: number;
      projectionDim: number;
    };

/** Parameter prefix of the self-supervised head (rotation blocks + angle classifier, or projection MLP). */
export const SSL_PREFIX = 'ssl';

/**
 * SPB-I's model: backbone + cosine classifier `fc`, plus a self-supervised head trained in every phase. The
 * images and their self-supervised copies pass through the extractor as one batch; CE and distillation read the
 * unrotated images only. Rotation task: the copies' last feature maps -> rotationHead (`ssl.block1`, `ssl.block2`
 * in the backbone group, `ssl.fc` in the classifier group) -> CE over the 4 angles. Contrastive task: the views'
 * features -> projectionHead (`ssl.proj`, classifier group) -> contrastiveLoss. Evaluation is the single head.
 * @example const variant = selfSupervisedVariant({ kind: 'rotation', angles: 'random' });
 */
export function selfSupervisedVariant(task: SelfSupervisedTask): ModelVariant {
  const sslHead = (params: ParamSource, featureMap: Value, features: Value): Value => {
    if (task.kind === 'rotation') return rotationHead(params, SSL_PREFIX, featureMap, QUARTER_TURNS);
    const group = params.group;
    params.group = 'classifier';
    try {
      return params.graph.scope(SSL_PREFIX, () => projectionHead(params, 'proj', features, features.shape[1]!, task.projectionDim));
    } finally {
      params.group = group;
    }
  };
  const variant: ModelVariant = {
    name: `self-supervised-${task.kind}`,
    heads: [MAIN_HEAD],
    trainForward(ctx: TrainForwardContext): TrainForward {
      const { graph: g, x } = ctx;
      const b = x.shape[0]!;
      let batch: Value;
      let copies: { from: number; labels?: number[] };
      if (task.kind === 'rotation' && task.angles === 'random') {
        const q = g.scope('rotate', () => rotateByQuarters(x));
        batch = concat([x, q.rotated], 0);
        copies = { from: b, labels: q.labels };
      } else if (task.kind === 'rotation') {
        batch = g.scope('rotate', () => fourRotations(x));
        copies = { from: 0, labels: Array.from({ length: QUARTER_TURNS * b }, (_, i) => Math.floor(i / b)) };
      } else {
        batch = g.scope('views', () => augmentedViews(x, task.views, task.shift));
        copies = { from: 0 };
      }
      const { featureMap, features: all } = backboneOn(ctx.spec, ctx.params, batch);
      const features = slice(all, { starts: [0], ends: [b], axes: [0] });
      const logits = classifierOn(ctx.params, MAIN_HEAD.prefix, features, ctx.classes);
      const rows = batch.shape[0]!;
      const selfSupervised = lazy(() => {
        const map = copies.from === 0 ? featureMap : slice(featureMap, { starts: [copies.from], ends: [rows], axes: [0] });
        const vec = copies.from === 0 ? all : slice(all, { starts: [copies.from], ends: [rows], axes: [0] });
        // Parameter names follow the graph scope, so the head is built outside any scope.
        const out = sslHead(ctx.params, map, vec);
        return g.scope('ssl_loss', () =>
          task.kind === 'contrastive' ? contrastiveLoss(out, task.views, task.temperature) : crossEntropy(out, g.constI64(copies.labels!)),
        );
      });
      return { logits, headLogits: [logits], features, teacherFeatures: lazy(() => ctx.teacherFeatures(x)), selfSupervised };
    },
    evalForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      return singleHeadVariant.evalForward(spec, params, x, classes);
    },
    stateForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      const { featureMap, features } = backboneOn(spec, params, x);
      const logits = classifierOn(params, MAIN_HEAD.prefix, features, classes);
      return { logits, features, ssl: sslHead(params, featureMap, features) };
    },
  };
  return Object.freeze(variant);
}

export const SpbIConfigSchema = z.strictObject({
  ...SpbConfigSchema.shape,
  /** The self-supervised task. */
  selfSupervised: z.enum(['rotation', 'contrastive']).default('rotation'),
  /** Weight of L_in relative to the classification term. */
  selfSupervisedWeight: z.number().positive().default(1),
  /** Rotation task: a random angle per image, or all four rotations of every image. */
  rotationAngles: z.enum(['random', 'every']).default('random'),
  /** Contrastive task: views per image (the image itself + shifted / flipped copies), shift in pixels, temperature, projection size. */
  views: z.number().int().min(2).max(6).default(4),
  viewShift: z.number().int().min(1).default(2),
  temperature: z.number().positive().default(0.1),
  projectionDim: z.number().int().positive().default(128),
});
export type SpbIConfig = z.infer<typeof SpbIConfigSchema>;

/** The self-supervised task a config selects. */
export function selfSupervisedTask(cfg: SpbIConfig): SelfSupervisedTask {
  return cfg.selfSupervised === 'rotation'
    ? { kind: 'rotation', angles: cfg.rotationAngles }
    : { kind: 'contrastive', views: cfg.views, shift: cfg.viewShift, temperature: cfg.temperature, projectionDim: cfg.projectionDim };
}

export const spbIMethod: MethodDefinition<typeof SpbIConfigSchema> = {
  name: 'spb-i',
  description: 'SPB-I: SPB plus an instance-level self-supervised loss (rotation prediction, or contrastive) in every phase',
  configSchema: SpbIConfigSchema,
  policy: (cfg) => spbPolicy(cfg, { model: selfSupervisedVariant(selfSupervisedTask(cfg)), selfSupervisedWeight: cfg.selfSupervisedWeight }),
};
