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
import { selfSupervisedVariant, type SelfSupervisedTask } from '../variants.js';
import type { MethodDefinition } from './method.js';
import { spbPolicy, SpbConfigSchema } from './spb.js';

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
