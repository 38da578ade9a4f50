/** Every class-incremental method by name, as a read-only registry. */
import { z } from 'zod';
import { readOnlyMap } from '../../util/read-only.js';
import type { PhasePolicy } from '../learner.js';
import { inferenceReadout, type InferenceReadout } from '../variants.js';
import { ftMethod } from './ft.js';
import { gaussMethod } from './gauss.js';
import { jointMethod } from './joint.js';
import type { MethodDefinition } from './method.js';
import { protoMethod } from './proto.js';
import { spbIMethod } from './spb-i.js';
import { spbMMethod } from './spb-m.js';
import { spbMethod } from './spb.js';

export type { MethodDefinition } from './method.js';

/** Methods by name. Read-only, definitions included (their config schemas stay as zod builds them). */
export const METHODS: ReadonlyMap<string, MethodDefinition> = readOnlyMap(
  new Map<string, MethodDefinition>(
    [spbMethod, ftMethod, protoMethod, jointMethod, spbMMethod, spbIMethod, gaussMethod].map((m) => [m.name, Object.freeze(m) as MethodDefinition]),
  ),
);

/** A method with its validated config, the policy it yields and the readout that policy predicts with. */
export interface ResolvedMethod {
  method: MethodDefinition;
  config: Record<string, unknown>;
  policy: PhasePolicy;
  /** What the method's exported models compute (see InferenceReadout). */
  readout: InferenceReadout;
}

/**
 * A method's validated config, policy and readout; unknown names and invalid configs give clear errors.
 * @example const { config, policy } = resolveMethod('spb', { reciprocalWeights: false });
 */
export function resolveMethod(name: string, overrides: Record<string, unknown> = {}): ResolvedMethod {
  const method = METHODS.get(name);
  if (!method) throw new Error(`unknown method "${name}"; known methods: ${[...METHODS.keys()].join(', ')}`);
  const parsed = method.configSchema.safeParse(overrides);
  if (!parsed.success) throw new Error(`invalid ${name} config: ${z.prettifyError(parsed.error)}`);
  const policy = method.policy(parsed.data);
  return { method, config: parsed.data as Record<string, unknown>, policy, readout: inferenceReadout(policy) };
}

/**
 * The method and config `increment` continues a checkpoint of `name` (trained with `config`) with: the method
 * itself with the same config, or the method it names in `incrementWith` with its defaults.
 * @example incrementMethod('joint', {}).method.name; // 'spb'
 */
export function incrementMethod(name: string, config: Record<string, unknown>): ResolvedMethod {
  const own = resolveMethod(name, config);
  return own.method.incrementWith === undefined ? own : resolveMethod(own.method.incrementWith);
}
