/**
 * Whole-network gradients: the loss of a full training forward (BatchNorm with batch statistics, cosine head,
 * cross-entropy) differentiated with respect to every parameter, checked against finite differences.
 *
 * Tolerances are looser than the per-op checks for a measured reason: in float32 the step cannot go below ~1e-3
 * (rounding noise), and at that step a perturbation of an early layer moves thousands of pre-activations, some across
 * a ReLU kink. Measured on convnet: numeric values converge towards the analytic ones as the step shrinks
 * (e.g. 0.192 vs 0.154 / 0.200 / 0.197 at steps 1e-2 / 3e-3 / 1e-3), the signature of kinks, not of a wrong rule.
 * A wrong rule (a transposed or doubled gradient) shows up in the aggregate agreement, which must stay near 1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCheckedGraph, checkGradients, type GradCheckInput } from '../../src/autodiff/gradcheck.js';
import { GRAD_RULES } from '../../src/autodiff/grads/index.js';
import { GraphBuilder, type Value } from '../../src/graph/builder.js';
import { crossEntropy } from '../../src/nn/functional.js';
import { cosineHead } from '../../src/nn/heads.js';
import { buildBackbone, getModelSpec } from '../../src/nn/models.js';
import { initialValue, InputParams, type BatchNormKernel, type ParamSource } from '../../src/nn/params.js';
import { testBackend, testBatchNormKernel } from '../support/device.js';

/** A ParamSource that hands out given graph values by name (the gradcheck's inputs). */
class FedParams implements ParamSource {
  group = 'backbone';
  constructor(
    readonly graph: GraphBuilder,
    readonly bnMode: 'train',
    private readonly byName: Map<string, Value>,
    readonly batchNormKernel: BatchNormKernel,
  ) {}
  param(name: string): Value {
    return this.byName.get(this.graph.scoped(name))!;
  }
  buffer(name: string): Value {
    return this.byName.get(this.graph.scoped(name))!;
  }
  updateBuffer(): void {}
}

const NETWORK_TOLERANCE = { eps: 1e-3, rtol: 0.15, atol: 3e-3, directions: 2, coordinates: 2, backend: testBackend };

function networkCase(model: string, inputShape: [number, number, number, number], classes: number, batchNormKernel: BatchNormKernel = testBatchNormKernel) {
  const spec = getModelSpec(model);
  const forward = (p: ParamSource, x: Value, y: Value) => crossEntropy(cosineHead(p, 'fc', buildBackbone(spec, p, x).features, classes), y);
  // Discover the parameters by building once.
  const probe = new GraphBuilder('probe');
  const probeParams = new InputParams(probe, 'train');
  forward(probeParams, probe.input('x', 'float32', inputShape), probe.input('y', 'int64', [inputShape[0]]));
  const infos = [...probeParams.infos.values()];
  const inputs: GradCheckInput[] = [
    { name: 'x', shape: inputShape, differentiable: false },
    { name: 'y', shape: [inputShape[0]], int64: BigInt64Array.from({ length: inputShape[0] }, (_, i) => BigInt(i % classes)) },
    ...infos.map((p) => ({
      name: p.name,
      shape: p.shape,
      data: p.init.kind === 'constant' ? initialValue(p, 3).map((v, i) => v + 0.1 * Math.sin(i + p.name.length)) : initialValue(p, 3),
      differentiable: p.kind === 'trainable',
    })),
  ];
  const build = (values: Value[], g: GraphBuilder) => {
    const byName = new Map(values.map((v) => [v.name, v]));
    return forward(new FedParams(g, 'train', byName, batchNormKernel), values[0]!, values[1]!);
  };
  return { inputs, build, count: infos.filter((p) => p.kind === 'trainable').length };
}

test(`convnet training loss (${testBatchNormKernel} BatchNorm): gradients of every parameter match finite differences`, async () => {
  const c = networkCase('convnet', [4, 1, 12, 12], 5);
  const report = await checkGradients(c.inputs, c.build, NETWORK_TOLERANCE);
  assert.equal(new Set(report.results.map((r) => r.input)).size, c.count);
  assert.ok(report.agreement > 0.995, `agreement ${report.agreement}`);
  assert.ok(report.ok, report.failures.join('\n'));
});

test('convnet training loss with BatchNorm built from primitives (the CUDA formulation) matches finite differences', async () => {
  const c = networkCase('convnet', [4, 1, 12, 12], 5, 'primitives');
  const report = await checkGradients(c.inputs, c.build, NETWORK_TOLERANCE);
  assert.ok(report.agreement > 0.995, `agreement ${report.agreement}`);
  assert.ok(report.ok, report.failures.join('\n'));
});

test('resnet32 training loss: gradients of every parameter match finite differences', async () => {
  const c = networkCase('resnet32', [4, 3, 8, 8], 6);
  const report = await checkGradients(c.inputs, c.build, { ...NETWORK_TOLERANCE, directions: 1 });
  assert.equal(new Set(report.results.map((r) => r.input)).size, c.count);
  assert.ok(report.agreement > 0.995, `agreement ${report.agreement}`);
  assert.ok(report.ok, report.failures.join('\n'));
});

test('every op type in the network graphs has a gradient rule (and so a finite-difference case of its own)', () => {
  const cases = [
    networkCase('convnet', [4, 1, 12, 12], 5, 'fused'),
    networkCase('convnet', [4, 1, 12, 12], 5, 'primitives'),
    networkCase('resnet32', [4, 3, 8, 8], 6),
  ];
  const opTypes = new Set(cases.flatMap((c) => buildCheckedGraph(c.inputs, c.build).graph.nodes.map((n) => n.op.opType)));
  // A guard against a vacuous pass: the graphs hold the ops a training forward is made of.
  for (const t of ['Conv', 'BatchNormalization', 'Relu', 'Gemm', 'LogSoftmax']) assert.ok(opTypes.has(t), `${t} missing from the network graphs`);
  const withoutRule = [...opTypes].filter((t) => !GRAD_RULES.has(t));
  assert.deepEqual(withoutRule, []);
});
