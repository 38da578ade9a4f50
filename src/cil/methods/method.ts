/**
 * The shape of a class-incremental method: a validated config, the phase policy it yields and how `increment`
 * continues its checkpoints. Everything else follows from the policy: the model variant it trains, its losses,
 * what it predicts with, and so what its exported models compute and how an app adds classes to them
 * (`inferenceReadout` in variants.ts), so the exporter, `increment` and the app never name a method.
 */
import type { z } from 'zod';
import type { PhasePolicy } from '../learner.js';

export interface MethodDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  /** The method's hyper-parameters and switches, with defaults. */
  readonly configSchema: S;
  policy(config: z.infer<S>): PhasePolicy;
  /**
   * The method `onnx-cil increment` continues this method's checkpoints with: one later phase on the new classes'
   * images alone. Unset: the method itself, with the checkpoint's config. Another method runs with its defaults;
   * it is for methods whose later phases need what `increment` lacks or that are baselines rather than models
   * to keep (joint needs the old classes' images).
   */
  readonly incrementWith?: string;
}
