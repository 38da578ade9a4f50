import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradients } from '../../src/autodiff/gradcheck.js';
import type { Shape, Value } from '../../src/graph/builder.js';
import { flatten, globalAveragePool, relu } from '../../src/graph/ops/index.js';
import { combineLosses, reciprocalWeights } from '../../src/cil/losses.js';
import { ftMethod } from '../../src/cil/methods/ft.js';
import { resolveMethod } from '../../src/cil/methods/index.js';
import { spbPolicy, SpbConfigSchema } from '../../src/cil/methods/spb.js';
import { cosineHead } from '../../src/nn/heads.js';
import { batchNorm, conv2d } from '../../src/nn/layers.js';
import { ConstantParams, type ParamSource, type StateDict } from '../../src/nn/params.js';
import { GivenParams } from './helpers.js';

test('reciprocal weights: Nnc/Noc on classification, Noc/Nnc on distillation', () => {
  assert.deepEqual(reciprocalWeights(50, 10), { classification: 0.2, distillation: 5 });
  assert.deepEqual(reciprocalWeights(5, 1), { classification: 0.2, distillation: 5 });
  assert.throws(() => reciprocalWeights(0, 1), /need old and new/);
});

test('method policies compose the loss pieces with the right weights', () => {
  const weights = (pieces: { name: string; weight: number }[]) => Object.fromEntries(pieces.map((p) => [p.name, p.weight]));
  const spb = spbPolicy(SpbConfigSchema.parse({}));
  assert.deepEqual(weights(spb.laterPhaseLoss(6, 2)), { ce: 2 / 6, em: 3 });
  assert.equal(spb.distills, true);
  assert.deepEqual(weights(spbPolicy(SpbConfigSchema.parse({ reciprocalWeights: false })).laterPhaseLoss(6, 2)), { ce: 1, em: 1 });
  assert.deepEqual(weights(spbPolicy(SpbConfigSchema.parse({ distillation: false })).laterPhaseLoss(6, 2)), { ce: 2 / 6 });
  assert.deepEqual(weights(ftMethod.policy(ftMethod.configSchema.parse({})).laterPhaseLoss(6, 2)), { ce: 1 });
  assert.equal(resolveMethod('proto').policy.trainsLaterPhases, false);
  assert.equal(resolveMethod('joint').policy.laterPhaseData, 'seen');
  assert.equal(resolveMethod('spb', { classifierInit: 'random' }).policy.classifierInit, 'random');
  assert.throws(() => resolveMethod('spb', { bogus: 1 }), /invalid spb config/);
  assert.throws(() => resolveMethod('lwf'), /known methods: spb, ft, proto, joint/);
});

/** conv(2->3) -> BN -> ReLU -> global pool: a 3-D feature. */
function tinyExtractor(p: ParamSource, x: Value): Value {
  return flatten(globalAveragePool(relu(batchNorm(p, 'bn1', conv2d(p, 'conv1', x, 3, 3, 1)))), 1);
}

test('SPB loss gradients (weighted CE + distillation against a frozen teacher, frozen BN) match finite differences', async () => {
  const shapes: Record<string, Shape> = {
    'conv1.weight': [3, 2, 3, 3],
    'bn1.weight': [3],
    'bn1.bias': [3],
    'bn1.running_mean': [3],
    'bn1.running_var': [3],
    'fc.weight': [4, 3],
    'fc.sigma': [1],
  };
  const fixed = new Set(['bn1.running_mean', 'bn1.running_var']);
  const seeded = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * 0.8);
  const teacher: StateDict = new Map(
    Object.entries(shapes)
      .filter(([name]) => !name.startsWith('fc.'))
      .map(([name, shape], k) => [
        name,
        name.endsWith('running_var')
          ? Float32Array.from(seeded(shape[0]!, k), (v) => 1 + Math.abs(v))
          : seeded(
              shape.reduce((a, d) => a * d, 1),
              k + 10,
            ),
      ]),
  );
  const pieces = spbPolicy(SpbConfigSchema.parse({})).laterPhaseLoss(3, 1);
  const inputs = [
    { name: 'x', shape: [4, 2, 5, 5] },
    { name: 'y', shape: [4], int64: BigInt64Array.of(3n, 0n, 3n, 1n) },
    ...Object.entries(shapes).map(([name, shape]) => ({
      name,
      shape,
      differentiable: !fixed.has(name),
      data: name === 'bn1.running_var' ? Float32Array.of(1.2, 0.7, 1.5) : name === 'fc.sigma' ? Float32Array.of(3) : undefined,
    })),
  ];
  const report = await checkGradients(
    inputs,
    ([x, y, ...params], g) => {
      const student = new GivenParams(g, 'frozen', new Map(Object.keys(shapes).map((name, i) => [name, params[i]!])));
      const features = tinyExtractor(student, x!);
      const logits = cosineHead(student, 'fc', features, 4);
      const teacherFeatures = tinyExtractor(new ConstantParams(g, 'eval', teacher, 'teacher.'), x!);
      const { loss, parts } = combineLosses(pieces, { graph: g, targets: y!, logits, features, teacherFeatures: () => teacherFeatures });
      assert.deepEqual(Object.keys(parts), ['ce', 'em']);
      return loss;
    },
    { directions: 2, coordinates: 2 },
  );
  assert.ok(report.ok, report.failures.join('\n'));
  // The distillation term really contributes: conv1.weight's gradient is checked against a loss with em in it.
  assert.ok(report.results.some((r) => r.input === 'conv1.weight' && Math.abs(r.analytic) > 1e-4));
});
