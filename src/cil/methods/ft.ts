/**
 * Fine-tuning (FT), the lower bound: SPB's phase mechanics without distillation and without reciprocal weights,
 * i.e. plain cross-entropy on the new classes' data from the expanded classifier.
 */
import { z } from 'zod';
import type { MethodDefinition } from './method.js';
import { spbPolicy } from './spb.js';

export const FtConfigSchema = z.strictObject({
  classifierInit: z.enum(['prototype', 'random']).default('prototype'),
});

export const ftMethod: MethodDefinition<typeof FtConfigSchema> = {
  name: 'ft',
  description: 'fine-tuning on new classes only with cross-entropy (no distillation): the lower bound',
  configSchema: FtConfigSchema,
  policy: (cfg) => spbPolicy({ distillation: false, reciprocalWeights: false, classifierInit: cfg.classifierInit, trainLaterPhases: true }),
  // A lower bound to compare with, not a model to keep: `increment` continues its checkpoints with SPB.
  incrementWith: 'spb',
};
