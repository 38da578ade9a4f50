/** BatchNorm folding: the folded graph computes the same function (onnxruntime without its own fusions). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from '../../src/util/rng.js';
import { foldBatchNorm } from '../../src/export/fold-batch-norm.js';
import { constTensor, GraphBuilder } from '../../src/graph/builder.js';
import { decodeModel, encodeModel, type ModelProto } from '../../src/graph/onnx-proto.js';
import { add, batchNormInference, conv, relu } from '../../src/graph/ops/index.js';
import { createBackend } from '../../src/runtime/backend.js';

const rng = new SeededRandom(42);
const rand = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + rng.nextFloat() * (hi - lo));

/** conv(+bias) -> BN -> relu, and a conv -> BN whose conv output is also used elsewhere (must stay unfolded). */
function buildModel(): ModelProto {
  const g = new GraphBuilder('fold');
  const x = g.input('x', 'float32', [-1, 3, 8, 8]);
  const bn = (name: string, c: number, v: Parameters<typeof batchNormInference>[0]) =>
    batchNormInference(
      v,
      g.initializer(`${name}.weight`, constTensor('float32', [c], rand(c, 0.5, 1.5))),
      g.initializer(`${name}.bias`, constTensor('float32', [c], rand(c, -0.3, 0.3))),
      g.initializer(`${name}.running_mean`, constTensor('float32', [c], rand(c, -0.3, 0.3))),
      g.initializer(`${name}.running_var`, constTensor('float32', [c], rand(c, 0.3, 2))),
      { epsilon: 1e-5 },
    );
  const w1 = g.initializer('conv1.weight', constTensor('float32', [4, 3, 3, 3], rand(108, -0.5, 0.5)));
  const b1 = g.initializer('conv1.conv_bias', constTensor('float32', [4], rand(4, -0.2, 0.2)));
  const h = relu(bn('bn1', 4, conv(x, w1, b1, { pads: [1, 1, 1, 1] })));
  const w2 = g.initializer('conv2.weight', constTensor('float32', [4, 4, 1, 1], rand(16, -0.5, 0.5)));
  const c2 = conv(h, w2, null, {});
  const y = add(bn('bn2', 4, c2), c2);
  g.output(y, 'y');
  return g.toModel();
}

async function run(model: ModelProto, x: Float32Array): Promise<Float32Array> {
  const { ort, session } = await createBackend(encodeModel(model), { optimization: 'disabled' });
  const out = await session.run({ x: new ort.Tensor('float32', x, [2, 3, 8, 8]) });
  await session.release();
  return out['y']!.data as Float32Array;
}

describe('foldBatchNorm', () => {
  it('folds conv -> BN pairs exactly (to float rounding) and leaves shared conv outputs alone', async () => {
    const model = buildModel();
    const folded = decodeModel(encodeModel(model));
    assert.equal(foldBatchNorm(folded), 1);
    assert.deepEqual(
      folded.graph.node.map((n) => n.op_type),
      ['Conv', 'Relu', 'Conv', 'BatchNormalization', 'Add'],
    );
    assert.ok(!folded.graph.initializer.some((t) => t.name === 'bn1.running_mean'), 'folded BN parameters are dropped');
    const x = rand(2 * 3 * 64, -2, 2);
    const want = await run(model, x);
    const got = await run(folded, x);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - got[i]!) / (1 + Math.abs(want[i]!)));
    assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
  });
});
