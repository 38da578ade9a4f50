/**
 * SPB (prototype expansion + reciprocal embedding distillation): new classifier rows start at the normalised
 * class means of the current extractor; later phases train on new classes only with
 * (Nnc/Noc) * CE + (Noc/Nnc) * ||norm f(x) - norm f_old(x)||^2. Its switches give the ablations.
 */
import { z } from 'zod';
import { classificationLoss, embeddingDistillation, reciprocalWeights, selfSupervisedLoss, type LossPiece } from '../losses.js';
import type { PhasePolicy } from '../learner.js';
import type { ModelVariant } from '../variants.js';
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

/** What methods built on SPB's mechanics change: the model variant and the terms around the classification loss. */
export interface SpbExtension {
  /** The model the method trains (SPB-M: rotation heads; SPB-I: a self-supervised head). */
  model?: ModelVariant;
  /** Name of the classification piece in progress and metrics (SPB-M reports its mean over heads as `mp`). */
  classificationName?: string;
  /**
   * Weight of the self-supervised loss L_in relative to the classification term: phase 0 trains CE + w * L_in,
   * later phases (Nnc/Noc) * (CE + w * L_in) + (Noc/Nnc) * L_em.
   */
  selfSupervisedWeight?: number;
}

/**
 * SPB's phase policy for a config; other methods built on SPB's mechanics (FT, proto, SPB-M, SPB-I) call it with
 * their own switches and extension.
 * @example const policy = spbPolicy(SpbConfigSchema.parse({ reciprocalWeights: false }));
 */
export function spbPolicy(cfg: SpbConfig, ext: SpbExtension = {}): PhasePolicy {
  const name = ext.classificationName ?? 'ce';
  const classification = (weight: number): LossPiece[] =>
    ext.selfSupervisedWeight ? [classificationLoss(weight, name), selfSupervisedLoss(weight * ext.selfSupervisedWeight)] : [classificationLoss(weight, name)];
  return {
    classifierInit: cfg.classifierInit,
    trainsLaterPhases: cfg.trainLaterPhases,
    laterPhaseData: 'new',
    distills: cfg.distillation,
    ...(ext.model ? { model: ext.model } : {}),
    ...(ext.model || ext.selfSupervisedWeight || name !== 'ce' ? { basePhaseLoss: () => classification(1) } : {}),
    laterPhaseLoss(oldClasses: number, newClasses: number): LossPiece[] {
      const w = cfg.reciprocalWeights ? reciprocalWeights(oldClasses, newClasses) : { classification: 1, distillation: 1 };
      if (!cfg.distillation) return classification(cfg.reciprocalWeights ? w.classification : 1);
      return [...classification(w.classification), embeddingDistillation(w.distillation)];
    },
  };
}

export const spbMethod: MethodDefinition<typeof SpbConfigSchema> = {
  name: 'spb',
  description: 'SPB: prototype expansion of the cosine classifier + reciprocally weighted embedding distillation',
  configSchema: SpbConfigSchema,
  policy: spbPolicy,
};
