/**
 * Prototypes only: phase 0 trains, later phases append each new class's normalised class mean as its classifier
 * row and train nothing (what adding a class inside the app does).
 */
import { z } from 'zod';
import type { MethodDefinition } from './method.js';
import { spbPolicy } from './spb.js';

export const ProtoConfigSchema = z.strictObject({});

export const protoMethod: MethodDefinition<typeof ProtoConfigSchema> = {
  name: 'proto',
  description: 'prototype expansion only: later phases append class-mean rows without training',
  configSchema: ProtoConfigSchema,
  policy: () => spbPolicy({ distillation: false, reciprocalWeights: false, classifierInit: 'prototype', trainLaterPhases: false }),
  // A baseline to compare with: `increment` continues its checkpoints with SPB, which trains the new classes.
  incrementWith: 'spb',
};
