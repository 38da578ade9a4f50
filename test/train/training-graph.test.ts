import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Value } from '../../src/graph/builder.js';
import { mul, reduceSum } from '../../src/graph/ops/index.js';
import { crossEntropy } from '../../src/nn/functional.js';
import { cosineHead } from '../../src/nn/heads.js';
import { batchNorm } from '../../src/nn/layers.js';
import { buildBackbone, getModelSpec } from '../../src/nn/models.js';
import { completeState, TrainingSession } from '../../src/train/session.js';
import { buildTrainingGraph, nextName, type ForwardContext } from '../../src/train/training-graph.js';

const SGD = { momentum: 0.9, weightDecay: 5e-4, nesterov: false };

function convnetGraph(batch: number, classes = 10) {
  return buildTrainingGraph({
    name: 'convnet-test',
    batchSize: batch,
    inputShape: [1, 28, 28],
    bnMode: 'train',
    optimizer: SGD,
    forward: ({ params, x, y }: ForwardContext) => {
      const { features } = buildBackbone(getModelSpec('convnet'), params, x);
      params.group = 'classifier';
      const logits = cosineHead(params, 'fc', features, classes);
      return { loss: crossEntropy(logits, y), logits };
    },
  });
}

function randomBatch(batch: number, seed: number) {
  let s = seed;
  const r = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  return {
    x: Float32Array.from({ length: batch * 784 }, r),
    y: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 10)),
  };
}

test('the training graph passes onnx.checker.check_model(full_check=True)', (t) => {
  const python = '/usr/bin/python3';
  const hasOnnx =
    existsSync(python) &&
    (() => {
      try {
        execFileSync(python, ['-c', 'import onnx'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
  if (!hasOnnx) {
    t.skip('skipped: Debian python3-onnx is not installed (apt-get install python3-onnx)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-check-'));
  const path = join(dir, 'train.onnx');
  writeFileSync(path, convnetGraph(8).bytes);
  const out = execFileSync(python, [
    '-c',
    `import onnx; m = onnx.load(${JSON.stringify(path)}); onnx.checker.check_model(m, full_check=True); print('ok', len(m.graph.node))`,
  ]).toString();
  assert.match(out, /^ok \d+/);
});

test('one step in onnxruntime-web (wasm) gives the same loss as onnxruntime-node', async () => {
  const graph = convnetGraph(16);
  const { x, y } = randomBatch(16, 3);
  const node = await TrainingSession.create(graph, new Map(), { seed: 5, threads: 1 });
  const web = await TrainingSession.create(graph, new Map(), { seed: 5, runtime: 'web', threads: 1 });
  const lrs = { backbone: 0.1, classifier: 0.1 };
  const a = await node.step(x, y, lrs);
  const b = await web.step(x, y, lrs);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4, `node ${a.loss} vs web ${b.loss}`);
  // The updated state feeds the next step: losses must still agree.
  const a2 = await node.step(x, y, lrs);
  const b2 = await web.step(x, y, lrs);
  assert.ok(Math.abs(a2.loss - b2.loss) < 1e-4, `second step: node ${a2.loss} vs web ${b2.loss}`);
  assert.ok(a2.loss < a.loss);
  await node.release();
  await web.release();
});

test('SGD inside the graph follows PyTorch: v = mu v + g + wd w; w -= lr v (and Nesterov)', async () => {
  for (const nesterov of [false, true]) {
    const graph = buildTrainingGraph({
      name: 'sgd',
      batchSize: 1,
      inputShape: [1, 1, 2],
      bnMode: 'train',
      optimizer: { momentum: 0.9, weightDecay: 0.1, nesterov },
      forward: ({ params, x }) => {
        const w = params.param('w', [2], { kind: 'constant', value: 0 });
        // loss = sum(w * x): the gradient is x itself.
        return { loss: reduceSum(mul(x, w), undefined, false) };
      },
    });
    const s = await TrainingSession.create(graph, new Map([['w', Float32Array.from([1, -2])]]));
    const g = [0.5, 3];
    const x = Float32Array.from(g);
    let w = [1, -2];
    let v = [0, 0];
    for (let step = 0; step < 3; step++) {
      await s.step(x, BigInt64Array.of(0n), { backbone: 0.05 });
      const d = w.map((wi, i) => g[i]! + 0.1 * wi);
      v = v.map((vi, i) => 0.9 * vi + d[i]!);
      const dir = nesterov ? d.map((di, i) => di + 0.9 * v[i]!) : v;
      w = w.map((wi, i) => wi - 0.05 * dir[i]!);
      const got = Array.from((await s.stateDict()).get('w')!);
      for (const [i, gv] of got.entries()) assert.ok(Math.abs(gv - w[i]!) < 1e-6, `nesterov=${nesterov} step ${step}: ${got} vs ${w}`);
    }
    await s.release();
  }
});

/** The state after one lr-0 step of a tiny BatchNorm graph over the channel values 1, 2, 3, 5 (two images of 1x1x2). */
async function bnStateAfterOneStep(forward: (ctx: ForwardContext) => { loss: Value }): Promise<Map<string, Float32Array>> {
  const graph = buildTrainingGraph({ name: 'bn', batchSize: 2, inputShape: [1, 1, 2], bnMode: 'train', optimizer: SGD, forward });
  const s = await TrainingSession.create(graph, new Map());
  await s.step(Float32Array.from([1, 2, 3, 5]), BigInt64Array.of(0n, 0n), { backbone: 0 });
  const st = await s.stateDict();
  await s.release();
  return st;
}

test('BatchNorm in training mode updates running statistics like PyTorch (momentum 0.1, unbiased variance)', async () => {
  const st = await bnStateAfterOneStep(({ params, x }) => ({ loss: reduceSum(batchNorm(params, 'bn', x), undefined, false) }));
  // Mean 2.75, unbiased variance 2.9167.
  assert.ok(Math.abs(st.get('bn.running_mean')![0]! - 0.275) < 1e-6);
  assert.ok(Math.abs(st.get('bn.running_var')![0]! - (0.9 + 0.1 * (8.75 / 3))) < 1e-5);
});

test('two training-mode BatchNorm layers of one shape keep their own statistics', async () => {
  // Guards the fused kernel's private statistics inputs: a shared input made onnxruntime alias both layers' outputs.
  const st = await bnStateAfterOneStep(({ params, x }) => ({
    loss: reduceSum(batchNorm(params, 'b', mul(batchNorm(params, 'a', x), 3)), undefined, false),
  }));
  assert.ok(Math.abs(st.get('a.running_mean')![0]! - 0.275) < 1e-6);
  assert.ok(Math.abs(st.get('b.running_mean')![0]!) < 1e-6);
  // Normalised values times 3 have biased variance 9 (up to epsilon): unbiased 12 over 4 values.
  assert.ok(Math.abs(st.get('b.running_var')![0]! - (0.9 + 0.1 * 12)) < 1e-3);
});

test('fused and primitive BatchNorm give the same convnet gradients and statistics (float32 rounding)', async () => {
  // device cpu builds the fused kernel, auto the primitives; with lr 0 and zero velocity the new velocity is the gradient.
  const spec = getModelSpec('convnet');
  const build = (device: 'cpu' | 'auto') =>
    buildTrainingGraph({
      name: 'bnk',
      batchSize: 8,
      inputShape: [1, 16, 16],
      bnMode: 'train',
      device,
      optimizer: { momentum: 0.9, weightDecay: 0, nesterov: false },
      forward: ({ params, x, y }) => ({ loss: crossEntropy(cosineHead(params, 'fc', buildBackbone(spec, params, x).features, 4), y) }),
    });
  const fused = build('cpu');
  const primitives = build('auto');
  const state = completeState(fused.params, new Map(), 5);
  const x = Float32Array.from({ length: 8 * 256 }, (_, i) => Math.sin(i * 0.37) * 0.8 - 0.5 * ((i >> 4) % 2));
  const y = BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i % 4));
  const after = async (graph: typeof fused) => {
    const s = await TrainingSession.create(graph, state);
    await s.step(x, y, { backbone: 0, classifier: 0 });
    const st = await s.stateDict();
    await s.release();
    return st;
  };
  const [a, b] = [await after(fused), await after(primitives)];
  let compared = 0;
  for (const [name, va] of a) {
    if (!name.startsWith('velocity.') && !name.includes('running')) continue;
    const vb = b.get(name)!;
    let num = 0;
    let den = 0;
    for (const [i, v] of va.entries()) {
      num += (v - vb[i]!) ** 2;
      den += vb[i]! ** 2;
    }
    assert.ok(Math.sqrt(num / Math.max(den, 1e-30)) < 1e-4, `${name}: relative difference ${Math.sqrt(num / den)}`);
    compared++;
  }
  assert.ok(compared >= 20);
});

test('frozen parameters receive no update; groups get their own learning rate', async () => {
  const forward = ({ params, x }: ForwardContext) => {
    const a = params.param('a', [2], { kind: 'constant', value: 1 });
    params.group = 'classifier';
    const b = params.param('b', [2], { kind: 'constant', value: 1 });
    const c = params.param('c', [2], { kind: 'constant', value: 1 });
    return { loss: reduceSum(mul(mul(mul(x, a), b), c), undefined, false) };
  };
  const graph = buildTrainingGraph({
    name: 'groups',
    batchSize: 1,
    inputShape: [1, 1, 2],
    bnMode: 'train',
    optimizer: { momentum: 0, weightDecay: 0, nesterov: false },
    forward,
    frozen: (n) => n === 'c',
  });
  assert.deepEqual(graph.groups, ['backbone', 'classifier']);
  assert.ok(!graph.carried.includes('c'));
  const s = await TrainingSession.create(graph, new Map());
  await s.step(Float32Array.from([1, 1]), BigInt64Array.of(0n), { backbone: 0.5, classifier: 0.25 });
  const st = await s.stateDict();
  assert.deepEqual(Array.from(st.get('a')!), [0.5, 0.5]);
  assert.deepEqual(Array.from(st.get('b')!), [0.75, 0.75]);
  assert.deepEqual(Array.from(st.get('c')!), [1, 1]);
  await assert.rejects(() => s.step(Float32Array.from([1, 1]), BigInt64Array.of(0n), { backbone: 0.5 }), /no learning rate for parameter group "classifier"/);
  await s.release();
});

test('a non-finite loss is an error and the state is kept', async () => {
  const graph = buildTrainingGraph({
    name: 'nan',
    batchSize: 1,
    inputShape: [1, 1, 1],
    bnMode: 'train',
    optimizer: SGD,
    forward: ({ params, x }) => ({ loss: reduceSum(mul(x, params.param('w', [1], { kind: 'constant', value: 2 })), undefined, false) }),
  });
  const s = await TrainingSession.create(graph, new Map());
  await assert.rejects(() => s.step(Float32Array.of(Number.NaN), BigInt64Array.of(0n), { backbone: 0.1 }), /loss became NaN; the step was not applied/);
  assert.deepEqual(Array.from((await s.stateDict()).get('w')!), [2]);
  await assert.rejects(
    () => s.step(new Float32Array(2), BigInt64Array.of(0n, 0n), { backbone: 0.1 }),
    /batch of 2 images; this training graph takes exactly 1/,
  );
  await s.release();
});

test('the next-state outputs are named after their inputs', () => {
  const graph = convnetGraph(4);
  for (const name of graph.carried) assert.ok(name.length > 0 && nextName(name).endsWith(':next'));
  assert.ok(graph.carried.includes('conv1.weight') && graph.carried.includes('velocity.conv1.weight'));
  assert.ok(graph.carried.includes('bn4.running_var'));
});
