import { IdentityOp, type Value } from '../builder.js';

export { IdentityOp };

/**
 * A copy of x (used to name or split values).
 * @example const y = identity(x);
 */
export function identity(x: Value): Value {
  return x.graph.apply(IdentityOp, [x], {})[0]!;
}
