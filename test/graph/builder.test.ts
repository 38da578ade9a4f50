import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constTensor, GraphBuilder } from '../../src/graph/builder.js';
import { add, conv, convTranspose, matmul, mul, reshape, slice, unsqueeze } from '../../src/graph/ops/index.js';

test('names are scoped and deterministic', () => {
  const build = () => {
    const g = new GraphBuilder('n');
    const x = g.input('x', 'float32', [1, 2]);
    const y = g.scope('layer1', () =>
      g.scope('0', () => {
        const w = g.initializer('conv1.weight', constTensor('float32', [2, 2], new Float32Array(4)));
        return matmul(x, w);
      }),
    );
    g.output(y, 'y');
    return g;
  };
  const a = build();
  assert.ok(a.initializers.has('layer1.0.conv1.weight'));
  assert.equal(a.nodes[0]!.name, 'layer1/0/MatMul_0');
  assert.deepEqual(build().toModel(), a.toModel());
});

test('constants are deduplicated by dtype, shape and bytes', () => {
  const g = new GraphBuilder('c');
  const a = g.constF32(1.5);
  const b = g.constF32(1.5);
  const c = g.constF32([1.5]);
  const d = g.constI64([1]);
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.notEqual(c, d);
});

test('shape inference catches mismatches at build time, naming the node', () => {
  const g = new GraphBuilder('s');
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  assert.throws(() => matmul(a, b), /MatMul_\d+: MatMul inner dimensions differ: 3 vs 4/);
  assert.throws(() => add(a, b), /do not broadcast/);
  assert.throws(() => reshape(a, [4, 2]), /6 elements do not fit/);
  const x = g.input('x', 'float32', [1, 3, 8, 8]);
  const w = g.input('w', 'float32', [4, 2, 3, 3]);
  assert.throws(() => conv(x, w), /W expects 2 input channels, X has 3/);
});

test('shape rules reject argument lists of the wrong length instead of inferring NaN dimensions', () => {
  const g = new GraphBuilder('args');
  const x = g.input('x', 'float32', [1, 3, 8, 8]);
  const w = g.input('w', 'float32', [4, 3, 3, 3]);
  assert.throws(() => conv(x, w, null, { pads: [1, 1] }), /Conv: 2-D convolution needs 2 strides, 4 pads and 2 dilations, got 2, 2 and 2/);
  assert.throws(() => convTranspose(x, g.input('wt', 'float32', [3, 4, 3, 3]), { strides: [2] }), /ConvTranspose: 2-D needs 2 strides/);
  assert.throws(() => reshape(x, [3, 8, 8, 1, 0]), /copies \(0\) a dimension that the rank-4 input lacks/);
  assert.throws(() => unsqueeze(x, [0, 0]), /Unsqueeze: axes \[0, 0\] must be distinct and within rank 6/);
  assert.throws(() => unsqueeze(x, [7]), /within rank 5/);
  assert.throws(
    () => slice(x, { starts: [0, 0], ends: [1], axes: [2, 3] }),
    /Slice: starts, ends, axes and steps need one entry per sliced axis, got 2, 1, 2 and 2/,
  );
});

test('shape rules follow ONNX semantics for strided and reversed slices', () => {
  const g = new GraphBuilder('sl');
  const x = g.input('x', 'float32', [1, 1, 7, 5]);
  assert.deepEqual(slice(x, { starts: [1], ends: [7], axes: [2], steps: [2] }).shape, [1, 1, 3, 5]);
  assert.deepEqual(slice(x, { starts: [-1], ends: [-(2 ** 53)], axes: [3], steps: [-1] }).shape, [1, 1, 7, 5]);
  assert.deepEqual(slice(x, { starts: [0], ends: [100], axes: [2] }).shape, [1, 1, 7, 5]);
});

test('duplicate names and foreign values are rejected', () => {
  const g = new GraphBuilder('d');
  g.input('x', 'float32', [1]);
  assert.throws(() => g.input('x', 'float32', [1]), /duplicate value name "x"/);
  const other = new GraphBuilder('o').input('y', 'float32', [1]);
  const mine = g.input('z', 'float32', [1]);
  assert.throws(() => mul(mine, other), /belongs to another graph/);
});

test('toModel keeps only nodes and initializers the outputs need', () => {
  const g = new GraphBuilder('live');
  const x = g.input('x', 'float32', [2]);
  add(x, g.constF32(2)); // dead branch
  g.output(mul(x, g.constF32(3)), 'y');
  const m = g.toModel();
  // The Mul's output is renamed to 'y' (no Identity); the dead Add and its constant are gone.
  assert.deepEqual(
    m.graph.node.map((n) => n.op_type),
    ['Mul'],
  );
  assert.deepEqual(
    m.graph.output.map((o) => o.name),
    ['y'],
  );
  assert.equal(m.graph.initializer.length, 1);
});
