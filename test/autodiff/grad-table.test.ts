/**
 * The gradient table against the ops the builders can emit: every op type has a rule (possibly "no gradient") or is
 * declared as having none, so a new op cannot reach a training graph without a decision about its gradient.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRAD_RULES } from '../../src/autodiff/grads/index.js';
import { OPS_WITHOUT_GRADIENT_RULE } from '../../src/autodiff/grads/non-differentiable.js';
import type { OpDef } from '../../src/graph/builder.js';
import * as ops from '../../src/graph/ops/index.js';

function isOpDef(x: unknown): x is OpDef {
  return typeof x === 'object' && x !== null && typeof (x as OpDef).opType === 'string' && typeof (x as OpDef).infer === 'function';
}

/** Every op type the ops index exports a definition for: the builders emit these and only these. */
const emitted = [
  ...new Set(
    Object.values(ops)
      .filter(isOpDef)
      .map((d) => d.opType),
  ),
].sort();

test('the ops index exports the definitions of the op files', () => {
  // A guard against the check below passing vacuously, e.g. if the index stopped re-exporting the OpDefs.
  for (const t of ['Add', 'Conv', 'ReduceMean', 'ReduceSum', 'Softmax', 'LogSoftmax', 'Identity', 'ConvTranspose']) assert.ok(emitted.includes(t), t);
});

test('every op type the builders can emit has a gradient rule or is declared without one', () => {
  const undecided = emitted.filter((t) => !GRAD_RULES.has(t) && !OPS_WITHOUT_GRADIENT_RULE.includes(t));
  assert.deepEqual(undecided, [], `ops with neither a gradient rule nor a declaration in grads/non-differentiable.ts: ${undecided.join(', ')}`);
});

test('the declarations name real op types that indeed have no rule', () => {
  for (const t of OPS_WITHOUT_GRADIENT_RULE) {
    assert.ok(emitted.includes(t), `${t} is declared but no builder emits it`);
    assert.ok(!GRAD_RULES.has(t), `${t} is declared without a rule but has one`);
  }
});

test('every rule in the table is for an op type the builders can emit', () => {
  const orphans = [...GRAD_RULES.keys()].filter((t) => !emitted.includes(t));
  assert.deepEqual(orphans, []);
});
