/**
 * ONNX encode/decode. The fixture test/fixtures/foreign-mlp.onnx was written by python3-onnx:
 *   helper.make_graph([MatMul(x, w), Add(h, b), Softmax(z, axis=1)], ...) with w as raw data, b as float_data,
 *   a symbolic 'batch' dimension, IR 7, opset 13, metadata {'author': 'test'}.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { constTensor, GraphBuilder } from '../../src/graph/builder.js';
import { decodeModel, encodeModel, tensorData, valueInfoShape, type ModelProto } from '../../src/graph/onnx-proto.js';
import { add, matmul, relu } from '../../src/graph/ops/index.js';

const fixture = fileURLToPath(new URL('../fixtures/foreign-mlp.onnx', import.meta.url));

test('decodes a model written by another tool (raw_data and float_data, symbolic dims, metadata)', () => {
  const m = decodeModel(readFileSync(fixture));
  assert.equal(Number(m.ir_version), 7);
  assert.equal(m.producer_name, 'python-onnx');
  assert.deepEqual(
    m.graph.node.map((n) => n.op_type),
    ['MatMul', 'Add', 'Softmax'],
  );
  assert.deepEqual(valueInfoShape(m.graph.input[0]!), [-1, 3]);
  const w = m.graph.initializer.find((t) => t.name === 'w')!;
  const b = m.graph.initializer.find((t) => t.name === 'b')!;
  assert.deepEqual(Array.from(tensorData(w) as Float32Array), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(tensorData(b) as Float32Array), [0.5, -0.5]);
  assert.deepEqual(m.metadata_props, [{ key: 'author', value: 'test' }]);
  const softmax = m.graph.node[2]!;
  assert.equal(Number(softmax.attribute![0]!.i), 1);
});

test('a decoded foreign model re-encodes to a file onnxruntime runs with the same result', async () => {
  const bytes = readFileSync(fixture);
  const again = encodeModel(decodeModel(bytes));
  const x = new ort.Tensor('float32', Float32Array.from([1, 0, -1, 0.5, 0.5, 0.5]), [2, 3]);
  const a = await (await ort.InferenceSession.create(bytes)).run({ x });
  const b = await (await ort.InferenceSession.create(again)).run({ x });
  assert.deepEqual(Array.from(b['y']!.data as Float32Array), Array.from(a['y']!.data as Float32Array));
});

test('our models round-trip through encode/decode unchanged', () => {
  const g = new GraphBuilder('rt');
  const x = g.input('x', 'float32', [2, 3]);
  const w = g.initializer(
    'fc.weight',
    constTensor(
      'float32',
      [3, 4],
      Float32Array.from({ length: 12 }, (_, i) => i / 7),
    ),
  );
  g.output(relu(add(matmul(x, w), g.constF32(0.25))), 'y');
  const model = g.toModel({ metadata: { k: 'v' } });
  const decoded = decodeModel(encodeModel(model));
  assert.equal(Number(decoded.ir_version), 8);
  assert.equal(Number(decoded.opset_import[0]!.version), 17);
  assert.deepEqual(
    decoded.graph.node.map((n) => n.op_type),
    model.graph.node.map((n) => n.op_type),
  );
  assert.deepEqual(
    Array.from(tensorData(decoded.graph.initializer.find((t) => t.name === 'fc.weight')!) as Float32Array),
    Array.from({ length: 12 }, (_, i) => Math.fround(i / 7)),
  );
  assert.deepEqual(encodeModel(decoded), encodeModel(model));
});

test('garbage and truncated bytes give a clear error', () => {
  assert.throws(() => decodeModel(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])), /not a valid ONNX model/);
  const bytes = readFileSync(fixture);
  assert.throws(() => decodeModel(bytes.subarray(0, bytes.length - 40)), /not a valid ONNX model/);
});

test('models over 2 GiB fail with a clear message instead of a protobuf error', () => {
  const g = new GraphBuilder('big');
  const x = g.input('x', 'float32', [1]);
  g.output(add(x, g.constF32(1)), 'y');
  const model: ModelProto = g.toModel();
  // A stand-in for a huge tensor: only its byteLength is consulted before encoding.
  model.graph.initializer.push({ name: 'huge', dims: [1], data_type: 1, raw_data: { byteLength: 3 * 2 ** 30 } as Uint8Array });
  assert.throws(() => encodeModel(model), /over 2 GiB/);
});
