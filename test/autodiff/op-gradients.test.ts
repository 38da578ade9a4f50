/**
 * Every gradient rule against central finite differences, through the one shared helper.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCheckedGraph, checkGradients, type GradCheckInput } from '../../src/autodiff/gradcheck.js';
import type { GraphBuilder, Value } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { GRAD_RULES } from '../../src/autodiff/grads/index.js';
import { TEST_DEVICE, testBackend } from '../support/device.js';

interface Case {
  name: string;
  inputs: GradCheckInput[];
  build: (v: Value[], g: GraphBuilder) => Value;
  eps?: number;
  /** Why this case cannot run on the test device (a visible skip). */
  skip?: string;
}

const positive = (n: number, lo = 0.5, hi = 2) => Float32Array.from({ length: n }, (_, i) => lo + ((i * 0.6180339) % 1) * (hi - lo));
/** Values kept away from 0 so kinks (Relu, Abs, Sign) are not crossed by the finite-difference step. */
const awayFromZero = (n: number) => Float32Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (0.1 + ((i * 0.7548776) % 1)));
const labels = (values: number[]) => BigInt64Array.from(values.map(BigInt));

const cases: Case[] = [
  {
    name: 'Add broadcast',
    inputs: [
      { name: 'a', shape: [2, 3, 4] },
      { name: 'b', shape: [3, 1] },
    ],
    build: ([a, b]) => op.add(a!, b!),
  },
  {
    name: 'Sub broadcast',
    inputs: [
      { name: 'a', shape: [4] },
      { name: 'b', shape: [2, 4] },
    ],
    build: ([a, b]) => op.sub(a!, b!),
  },
  {
    name: 'Mul broadcast',
    inputs: [
      { name: 'a', shape: [2, 3] },
      { name: 'b', shape: [1, 3] },
    ],
    build: ([a, b]) => op.mul(a!, b!),
  },
  {
    name: 'Div broadcast',
    inputs: [
      { name: 'a', shape: [2, 3] },
      { name: 'b', shape: [2, 1], data: positive(2) },
    ],
    build: ([a, b]) => op.div(a!, b!),
  },
  { name: 'Pow constant exponent', inputs: [{ name: 'x', shape: [5], data: positive(5) }], build: ([x], g) => op.pow(x!, g.constF32(2.5)) },
  { name: 'Relu', inputs: [{ name: 'x', shape: [3, 4], data: awayFromZero(12) }], build: ([x]) => op.relu(x!) },
  { name: 'Abs', inputs: [{ name: 'x', shape: [6], data: awayFromZero(6) }], build: ([x]) => op.abs(x!) },
  { name: 'Sqrt', inputs: [{ name: 'x', shape: [6], data: positive(6) }], build: ([x]) => op.sqrt(x!) },
  { name: 'Exp', inputs: [{ name: 'x', shape: [6] }], build: ([x]) => op.exp(x!) },
  { name: 'Log', inputs: [{ name: 'x', shape: [6], data: positive(6) }], build: ([x]) => op.log(x!) },
  { name: 'Neg', inputs: [{ name: 'x', shape: [6] }], build: ([x]) => op.neg(x!) },
  { name: 'Reciprocal', inputs: [{ name: 'x', shape: [6], data: positive(6) }], build: ([x]) => op.reciprocal(x!) },
  { name: 'Identity', inputs: [{ name: 'x', shape: [2, 2] }], build: ([x]) => op.identity(x!) },
  {
    name: 'MatMul',
    inputs: [
      { name: 'a', shape: [3, 4] },
      { name: 'b', shape: [4, 5] },
    ],
    build: ([a, b]) => op.matmul(a!, b!),
  },
  {
    name: 'MatMul batched broadcast',
    inputs: [
      { name: 'a', shape: [2, 3, 4] },
      { name: 'b', shape: [4, 2] },
    ],
    build: ([a, b]) => op.matmul(a!, b!),
  },
  ...[0, 1].flatMap((ta) =>
    [0, 1].map(
      (tb): Case => ({
        name: `Gemm transA=${ta} transB=${tb}`,
        inputs: [
          { name: 'a', shape: ta ? [4, 3] : [3, 4] },
          { name: 'b', shape: tb ? [5, 4] : [4, 5] },
          { name: 'c', shape: [5] },
        ],
        build: ([a, b, c]) => op.gemm(a!, b!, c!, { transA: ta, transB: tb, alpha: 0.7, beta: 1.3 }),
      }),
    ),
  ),
  { name: 'Reshape', inputs: [{ name: 'x', shape: [2, 6] }], build: ([x]) => op.reshape(x!, [3, -1]) },
  { name: 'Flatten', inputs: [{ name: 'x', shape: [2, 3, 2] }], build: ([x]) => op.flatten(x!, 1) },
  { name: 'Squeeze/Unsqueeze', inputs: [{ name: 'x', shape: [2, 1, 3] }], build: ([x]) => op.unsqueeze(op.squeeze(x!, [1]), [0]) },
  { name: 'Transpose', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: ([x]) => op.transpose(x!, [2, 0, 1]) },
  {
    name: 'Slice positive steps',
    inputs: [{ name: 'x', shape: [4, 5] }],
    build: ([x]) => op.slice(x!, { starts: [1, 0], ends: [3, -1], axes: [0, 1] }),
  },
  {
    name: 'Slice negative steps (flip)',
    inputs: [{ name: 'x', shape: [2, 3, 4, 4] }],
    build: ([x]) => op.slice(x!, { starts: [-1, 2], ends: [-(2 ** 53), 0], axes: [3, 2], steps: [-1, -1] }),
  },
  {
    name: 'Slice strided (step 2, as max pooling views) and reversed with step -3',
    inputs: [{ name: 'x', shape: [2, 2, 7, 8] }],
    build: ([x]) => op.slice(x!, { starts: [1, -1], ends: [7, 0], axes: [2, 3], steps: [2, -3] }),
  },
  {
    name: 'Concat',
    inputs: [
      { name: 'a', shape: [2, 3] },
      { name: 'b', shape: [2, 2] },
    ],
    build: ([a, b]) => op.concat([a!, b!, a!], 1),
  },
  { name: 'ReduceSum', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: ([x]) => op.reduceSum(x!, [0, 2], false) },
  { name: 'ReduceSum all', inputs: [{ name: 'x', shape: [2, 3] }], build: ([x]) => op.reduceSum(x!) },
  { name: 'ReduceMean', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: ([x]) => op.reduceMean(x!, [1], true) },
  { name: 'ReduceSumSquare', inputs: [{ name: 'x', shape: [3, 4] }], build: ([x]) => op.reduceSumSquare(x!, [1], true) },
  { name: 'GlobalAveragePool', inputs: [{ name: 'x', shape: [2, 3, 4, 4] }], build: ([x]) => op.globalAveragePool(x!) },
  { name: 'Softmax', inputs: [{ name: 'x', shape: [3, 5] }], build: ([x]) => op.softmax(x!, 1) },
  { name: 'LogSoftmax', inputs: [{ name: 'x', shape: [3, 5] }], build: ([x]) => op.logSoftmax(x!, -1) },
  {
    name: 'Gather rows',
    inputs: [
      { name: 'w', shape: [5, 3] },
      { name: 'i', shape: [4], int64: labels([4, 0, 4, 2]) },
    ],
    build: ([w, i]) => op.gather(w!, i!, 0),
  },
  {
    name: 'GatherElements label selection',
    inputs: [
      { name: 'x', shape: [4, 5] },
      { name: 'i', shape: [4, 1], int64: labels([1, 0, 4, 4]) },
    ],
    build: ([x, i]) => op.gatherElements(x!, i!, 1),
  },
  {
    name: 'OneHot one-hot label selection',
    inputs: [
      { name: 'x', shape: [4, 5] },
      { name: 'i', shape: [4], int64: labels([1, 0, 4, 3]) },
    ],
    build: ([x, i]) => op.mul(x!, op.oneHot(i!, 5)),
  },
  {
    name: 'Where with Greater mask',
    inputs: [
      { name: 'a', shape: [2, 3], data: awayFromZero(6) },
      { name: 'b', shape: [3] },
    ],
    build: ([a, b], g) => op.where(op.greater(a!, g.constF32(0)), a!, b!),
  },
  {
    name: 'Max (elementwise, broadcast)',
    inputs: [
      { name: 'a', shape: [2, 3], data: awayFromZero(6) },
      { name: 'b', shape: [3], data: Float32Array.from([0.05, -0.3, 0.55]) },
    ],
    build: ([a, b]) => op.max(a!, b!),
  },
  // The ops without a gradient must still be crossed by one: their rules hand back no gradient, and the value they
  // feed (a mask, a one-hot) is held fixed, so the finite differences see exactly the other path.
  { name: 'Sign as a fixed factor (x * sign(x) = |x|)', inputs: [{ name: 'x', shape: [6], data: awayFromZero(6) }], build: ([x]) => op.mul(x!, op.sign(x!)) },
  {
    name: 'ArgMax readout (x at the row maximum)',
    inputs: [{ name: 'x', shape: [3, 5] }],
    build: ([x]) => op.mul(x!, op.oneHot(op.argMax(x!, 1, false), 5)),
  },
  {
    name: 'Equal mask of the row maximum',
    inputs: [{ name: 'x', shape: [3, 5] }],
    build: ([x]) => op.where(op.equal(x!, op.reduceMax(x!, [1], true)), x!, op.neg(x!)),
  },
  { name: 'Expand', inputs: [{ name: 'x', shape: [3, 1] }], build: ([x]) => op.expand(x!, [2, 3, 4]) },
  { name: 'Pad', inputs: [{ name: 'x', shape: [1, 2, 3, 3] }], build: ([x]) => op.pad(x!, [0, 0, 1, 2, 0, 0, 2, 1]) },
  { name: 'Cast float->float', inputs: [{ name: 'x', shape: [4] }], build: ([x]) => op.cast(x!, 'float32') },
  ...(
    [
      { label: '3x3 stride 1 pad 1 with bias', x: [2, 3, 6, 6], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
      { label: '3x3 stride 2 pad 1', x: [2, 3, 7, 7], w: [4, 3, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, bias: false },
      { label: '3x3 stride 2 pad 1 even input', x: [2, 2, 8, 8], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, bias: false },
      { label: '1x1 stride 2 (shortcut)', x: [2, 3, 6, 6], w: [5, 3, 1, 1], attrs: { strides: [2, 2] }, bias: false },
      { label: '3x2 stride 1 no pad', x: [1, 2, 5, 6], w: [3, 2, 3, 2], attrs: {}, bias: true },
      { label: '3x3 asymmetric pads', x: [1, 2, 5, 5], w: [2, 2, 3, 3], attrs: { pads: [0, 1, 2, 1] }, bias: false },
      { label: '1x1 stride 1', x: [2, 3, 4, 4], w: [4, 3, 1, 1], attrs: {}, bias: false },
      { label: '3x3 stride 1 pad 1, 16 channels', x: [2, 16, 5, 5], w: [16, 16, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: false },
      // Conv is linear in each input, so a large step costs nothing in curvature and keeps float32 round-off small on bigger tensors.
      {
        label: '3x3 stride 1 pad 1, 9x9 output, im2col in chunks (batch 10)',
        x: [10, 4, 9, 9],
        w: [5, 4, 3, 3],
        attrs: { pads: [1, 1, 1, 1] },
        bias: false,
        eps: 0.1,
      },
      { label: '3x2 stride 1 asymmetric pads, 10x10 output, batch 9', x: [9, 3, 10, 10], w: [4, 3, 3, 2], attrs: { pads: [1, 0, 1, 1] }, bias: true, eps: 0.1 },
      {
        label: '3x3 stride 2 pad 1, 12 channels, batch 9',
        x: [9, 12, 8, 8],
        w: [16, 12, 3, 3],
        attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
        bias: false,
        eps: 0.1,
      },
    ] as const
  ).map(
    (c): Case => ({
      name: `Conv ${c.label}`,
      inputs: [{ name: 'x', shape: c.x }, { name: 'w', shape: c.w }, ...(c.bias ? [{ name: 'b', shape: [c.w[0]] }] : [])],
      build: ([x, w, b]) => op.conv(x!, w!, b ?? null, c.attrs),
      eps: 'eps' in c ? c.eps : undefined,
    }),
  ),
  {
    name: 'BatchNormalization (fixed statistics)',
    inputs: [
      { name: 'x', shape: [2, 3, 2, 2] },
      { name: 'scale', shape: [3] },
      { name: 'bias', shape: [3] },
      { name: 'mean', shape: [3], differentiable: false },
      { name: 'var', shape: [3], data: positive(3), differentiable: false },
    ],
    build: ([x, s, b, m, v]) => op.batchNormInference(x!, s!, b!, m!, v!, { epsilon: 1e-5 }),
  },
  {
    name: 'BatchNormalization (training mode, batch statistics)',
    skip: TEST_DEVICE === 'cuda' ? "onnxruntime's CUDA kernel refuses training mode; CUDA graphs build BatchNorm from primitives" : undefined,
    inputs: [
      { name: 'x', shape: [3, 4, 3, 3] },
      { name: 'scale', shape: [4] },
      { name: 'bias', shape: [4] },
    ],
    build: ([x, s, b]) => op.batchNormTraining(x!, s!, b!, { epsilon: 1e-5 }).y,
  },
];

for (const c of cases) {
  test(`gradient of ${c.name} matches finite differences`, { skip: c.skip }, async () => {
    const report = await checkGradients(c.inputs, c.build, { eps: c.eps, backend: testBackend });
    assert.ok(report.ok, report.failures.join('\n'));
  });
}

test('every rule in the gradient table is exercised by a finite-difference case that runs here', () => {
  // Coverage comes from the graphs the cases build, not from lists beside them, so a rule that stops emitting an op
  // (or a case that stops building it) shows up here.
  const exercised = new Set(cases.filter((c) => !c.skip).flatMap((c) => buildCheckedGraph(c.inputs, c.build).graph.nodes.map((n) => n.op.opType)));
  const untested = [...GRAD_RULES.keys()].filter((t) => !exercised.has(t));
  assert.deepEqual(untested, [], `gradient rules without a finite-difference case: ${untested.join(', ')}`);
});
