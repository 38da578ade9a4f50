import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradients } from '../../src/autodiff/backprop.js';
import { checkGradients } from '../../src/autodiff/gradcheck.js';
import { GRAD_RULES } from '../../src/autodiff/grads/index.js';
import type { GradRule } from '../../src/autodiff/rule.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { exp, mul, reduceMax, reduceSum, reshape } from '../../src/graph/ops/index.js';

test('a missing gradient rule fails at build time, naming the op and node', () => {
  const g = new GraphBuilder('missing');
  const x = g.input('x', 'float32', [2, 3]);
  const loss = reduceSum(reduceMax(x, [1], false), undefined, false);
  assert.throws(() => gradients(loss, [x]), /no gradient rule for op ReduceMax \(node ReduceMax_\d+\)/);
});

/** The gradient table with the Exp rule replaced, to inject a faulty rule. */
function withExpRule(gradFn: GradRule['gradFn']): ReadonlyMap<string, GradRule> {
  return new Map([...GRAD_RULES, ['Exp', { opType: 'Exp', gradFn }]]);
}

test('a rule returning a wrongly shaped gradient fails at build time', () => {
  const rules = withExpRule((_node, dys) => [reshape(dys[0]!, [6])]);
  const g = new GraphBuilder('shape');
  const x = g.input('x', 'float32', [2, 3]);
  assert.throws(() => gradients(reduceSum(exp(x), undefined, false), [x], { rules }), /returned shape \[6\] for input 0 of shape \[2, 3\]/);
});

test('the finite-difference helper catches a wrong gradient rule', async () => {
  // d exp(x) = exp(x) dx; this rule is off by a factor of 2.
  const rules = withExpRule((node, dys) => [mul(mul(dys[0]!, node.outputs[0]!), 2)]);
  const report = await checkGradients([{ name: 'x', shape: [4] }], ([x]) => exp(x!), { rules });
  assert.equal(report.ok, false);
  assert.ok(report.failures.length > 0);
});

test('values used twice accumulate their gradients; unused parameters get zeros', async () => {
  const report = await checkGradients([{ name: 'x', shape: [3] }], ([x]) => mul(exp(x!), x!));
  assert.ok(report.ok, report.failures.join('\n'));
  const g = new GraphBuilder('unused');
  const x = g.input('x', 'float32', [2]);
  const unused = g.input('u', 'float32', [5]);
  const [, du] = gradients(reduceSum(x, undefined, false), [x, unused]);
  assert.deepEqual(du!.shape, [5]);
  assert.equal(du!.producer, null);
});

test('the gradient table cannot be changed, not even through the Map methods', () => {
  const expRule = GRAD_RULES.get('Exp');
  const table = GRAD_RULES as unknown as Map<string, GradRule>;
  assert.equal(typeof table.set, 'undefined');
  assert.throws(() => Map.prototype.set.call(table, 'Exp', { opType: 'Exp', gradFn: () => [] }), TypeError);
  assert.throws(() => Map.prototype.delete.call(table, 'Exp'), TypeError);
  assert.throws(() => Object.assign(table, { get: () => undefined }), TypeError);
  assert.equal(GRAD_RULES.get('Exp'), expRule);
  assert.equal(new Map(GRAD_RULES).size, GRAD_RULES.size);
});
