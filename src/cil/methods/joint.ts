/**
 * Joint training, the upper bound: each later phase expands the classifier like SPB and trains with
 * cross-entropy on the training data of every class seen so far (it keeps all old images, which CIL forbids).
 */
import { z } from 'zod';
import { classificationLoss } from '../losses.js';
import type { MethodDefinition } from './method.js';

export const JointConfigSchema = z.strictObject({
  classifierInit: z.enum(['prototype', 'random']).default('prototype'),
});

export const jointMethod: MethodDefinition<typeof JointConfigSchema> = {
  name: 'joint',
  description: "joint training on all seen classes' data with cross-entropy: the upper bound",
  configSchema: JointConfigSchema,
  policy: (cfg) => ({
    classifierInit: cfg.classifierInit,
    trainsLaterPhases: true,
    laterPhaseData: 'seen',
    distills: false,
    laterPhaseLoss: () => [classificationLoss(1)],
  }),
  // Its later phases train on the old classes' images too, which `increment` does not have.
  incrementWith: 'spb',
};
