/**
 * SPB (prototype expansion + reciprocal embedding distillation): new classifier rows start at the normalised
 * class means of the current extractor; later phases train on new classes only with
 * (Nnc/Noc) * CE + (Noc/Nnc) * ||norm f(x) - norm f_old(x)||^2. Its switches give the ablations.
 */
import { z } from 'zod';
import { classificationLoss, embeddingDistillation, reciprocalWeights, type LossPiece } from '../losses.js';
import type { PhasePolicy } from '../learner.js';
import type { MethodDefinition } from './method.js';

export const SpbConfigSchema = z.strictObject({
  /** Embedding distillation against the frozen previous extractor (off: fine-tuning). */
  distillation: z.boolean().default(true),
  /** Nnc/Noc and Noc/Nnc on the two terms (off: both weights 1). */
  reciprocalWeights: z.boolean().default(true),
  /** New rows from prototypes or random. */
  classifierInit: z.enum(['prototype', 'random']).default('prototype'),
  /** Off: later phases only append prototypes. */
  trainLaterPhases: z.boolean().default(true),
});
export type SpbConfig = z.infer<typeof SpbConfigSchema>;

/**
 * SPB's phase policy for a config; other methods built on SPB's mechanics call it with their own switches.
 * @example const policy = spbPolicy(SpbConfigSchema.parse({ reciprocalWeights: false }));
 */
export function spbPolicy(cfg: SpbConfig): PhasePolicy {
  return {
    classifierInit: cfg.classifierInit,
    trainsLaterPhases: cfg.trainLaterPhases,
    laterPhaseData: 'new',
    distills: cfg.distillation,
    laterPhaseLoss(oldClasses: number, newClasses: number): LossPiece[] {
      const w = cfg.reciprocalWeights ? reciprocalWeights(oldClasses, newClasses) : { classification: 1, distillation: 1 };
      if (!cfg.distillation) return [classificationLoss(cfg.reciprocalWeights ? w.classification : 1)];
      return [classificationLoss(w.classification), embeddingDistillation(w.distillation)];
    },
  };
}

export const spbMethod: MethodDefinition<typeof SpbConfigSchema> = {
  name: 'spb',
  description: 'SPB: prototype expansion of the cosine classifier + reciprocally weighted embedding distillation',
  configSchema: SpbConfigSchema,
  policy: spbPolicy,
};
