/** Every class-incremental method by name, as a read-only registry. */
import { z } from 'zod';
import { readOnlyMap } from '../../util/read-only.js';
import type { PhasePolicy } from '../learner.js';
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
  new Map<string, MethodDefinition>([spbMethod, ftMethod, protoMethod, jointMethod, spbMMethod, spbIMethod, gaussMethod].map((m) => [m.name, Object.freeze(m) as MethodDefinition])),
);

/**
 * A method's validated config and policy; unknown names and invalid configs give clear errors.
 * @example const { config, policy } = resolveMethod('spb', { reciprocalWeights: false });
 */
export function resolveMethod(name: string, overrides: Record<string, unknown> = {}): { method: MethodDefinition; config: Record<string, unknown>; policy: PhasePolicy } {
  const method = METHODS.get(name);
  if (!method) throw new Error(`unknown method "${name}"; known methods: ${[...METHODS.keys()].join(', ')}`);
  const parsed = method.configSchema.safeParse(overrides);
  if (!parsed.success) throw new Error(`invalid ${name} config: ${z.prettifyError(parsed.error)}`);
  return { method, config: parsed.data as Record<string, unknown>, policy: method.policy(parsed.data) };
}
