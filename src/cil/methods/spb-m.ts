/**
 * SPB-M (multi-perspective): SPB's phase mechanics with gamma rotation heads. The batch and its rotations by
 * 90/180/270 degrees pass through the extractor as one batch; head b (its own rows and scale) classifies the copy
 * rotated by b; L_mp = (1/gamma) sum_b CE_b; later phases train (Nnc/Noc) * L_mp + (Noc/Nnc) * L_em with L_em on
 * every rotated copy against the frozen extractor's features of the same copy; phase 0 trains L_mp alone. New
 * rows of head b are prototypes of features of images rotated by b. Test time: the mean of the heads' softmax
 * probabilities, each head on its own rotation (`readout: single` reads head 0 alone; both are reported).
 */
import { z } from 'zod';
import { rotationEnsembleVariant } from '../variants.js';
import type { MethodDefinition } from './method.js';
import { spbPolicy, SpbConfigSchema } from './spb.js';

export const SpbMConfigSchema = z.strictObject({
  ...SpbConfigSchema.shape,
  /** gamma: number of rotation heads (rotations 0, 90, ... degrees). */
  rotations: z.number().int().min(1).max(4).default(4),
  /** The primary readout of evaluations (accuracy, metrics); the other is reported under `readouts`. */
  readout: z.enum(['ensemble', 'single']).default('ensemble'),
});
export type SpbMConfig = z.infer<typeof SpbMConfigSchema>;

export const spbMMethod: MethodDefinition<typeof SpbMConfigSchema> = {
  name: 'spb-m',
  description: 'SPB-M: SPB with one cosine classifier per image rotation (multi-perspective), heads combined at test time',
  configSchema: SpbMConfigSchema,
  policy: (cfg) =>
    spbPolicy(cfg, { model: rotationEnsembleVariant(cfg.rotations, cfg.readout), classificationName: cfg.rotations > 1 ? 'mp' : 'ce' }),
};
