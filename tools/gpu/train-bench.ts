/**
 * GPU training throughput of resnet32 at batch 128 through onnxruntime's CUDA provider, and the share of a step
 * spent moving the state (weights, velocities, BN statistics) and the batch across PCIe: onnxruntime-node returns
 * every output to host memory, so each step copies the state down and back. The copy cost is measured with a graph
 * that only passes the same tensors through (Identity), so it needs no profiler.
 * Run on a GPU machine: node dist/tools/gpu/train-bench.js [--steps 30] [--json]
 */
import { GraphBuilder } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { identity } from '../../src/graph/ops/index.js';
import { createBackend } from '../../src/runtime/backend.js';
import { TrainingSession } from '../../src/train/session.js';
import { nextName } from '../../src/train/training-graph.js';
import { resnet32TrainingGraph } from './graphs.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const steps = Number(process.argv[process.argv.indexOf('--steps') + 1]) || 30;
  const device = process.argv.includes('--cpu') ? 'cpu' : 'cuda';
  const graph = resnet32TrainingGraph(128);
  const trainer = await TrainingSession.create(graph, new Map(), { device, seed: 1 });
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Float32Array.from({ length: 128 * 3 * 32 * 32 }, rand);
  const y = BigInt64Array.from({ length: 128 }, (_, i) => BigInt(i % 100));
  const lrs = { backbone: 0.1, classifier: 0.1 };
  for (let i = 0; i < 5; i++) await trainer.step(x, y, lrs);
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await trainer.step(x, y, lrs);
    stepMs.push(performance.now() - t0);
  }

  // The same tensors in and out, nothing computed: the per-step transfer cost.
  const g = new GraphBuilder('copy-only');
  const state = [...trainer.tensors()];
  const input = g.input('input', 'float32', [128, 3, 32, 32]);
  g.output(identity(input), nextName('input'));
  for (const [name, t] of state) g.output(identity(g.input(name, 'float32', [...t.dims])), nextName(name));
  const copy = await createBackend(encodeModel(g.toModel()), { device });
  const feeds: Record<string, unknown> = { input: new copy.ort.Tensor('float32', x, [128, 3, 32, 32]) };
  for (const [name, t] of state) feeds[name] = new copy.ort.Tensor('float32', (await t.getData()) as Float32Array, [...t.dims]);
  for (let i = 0; i < 5; i++) await copy.session.run(feeds as never);
  const copyMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await copy.session.run(feeds as never);
    copyMs.push(performance.now() - t0);
  }
  const stateBytes = state.reduce((a, [, t]) => a + t.size * 4, 0);
  const result = {
    device: trainer.device,
    model: 'resnet32',
    batch: 128,
    msPerStep: median(stepMs),
    imagesPerSecond: 128000 / median(stepMs),
    copyOnlyMsPerStep: median(copyMs),
    copyShare: median(copyMs) / median(stepMs),
    stateMB: stateBytes / 1e6,
  };
  console.log(
    `train-bench ${result.device}: resnet32 b128 ${result.msPerStep.toFixed(1)} ms/step, ${result.imagesPerSecond.toFixed(0)} img/s; ` +
      `state ${result.stateMB.toFixed(1)} MB down+up + batch: ${result.copyOnlyMsPerStep.toFixed(2)} ms (${(100 * result.copyShare).toFixed(1)}% of a step)`,
  );
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
  await trainer.release();
  await copy.session.release();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
