/** The shape of a class-incremental method: a validated config and the phase policy it yields. */
import type { z } from 'zod';
import type { PhasePolicy } from '../learner.js';

export interface MethodDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  /** The method's hyper-parameters and switches, with defaults. */
  readonly configSchema: S;
  policy(config: z.infer<S>): PhasePolicy;
}
