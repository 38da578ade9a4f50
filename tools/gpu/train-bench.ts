/**
 * GPU training throughput of resnet32 at batch 128 through onnxruntime's CUDA provider, and the share of a step
 * spent moving the state (weights, velocities, BN statistics) and the batch across PCIe: onnxruntime-node returns
 * every output to host memory, so each step copies the state down and back. The copy cost is measured with a graph
 * that only passes the same tensors through (Identity), so it needs no profiler; it is measured both for the packed
 * state the training graph uses and for one tensor per state entry (the layout it replaced).
 * The graph is the bench's resnet32 workload built for CUDA; --cpu runs that same graph on the CPU for comparison.
 * Run on a GPU machine: node build/tools/gpu/train-bench.js [--steps 30] [--cpu] [--json]
 */
import { GraphBuilder } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { identity } from '../../src/graph/ops/index.js';
import { createBackend } from '../../src/runtime/backend.js';
import { TrainingSession } from '../../src/train/session.js';
import { buildTrainWorkload } from '../bench/workloads.js';
import { integerArg, parseToolArgs } from '../lib/args.js';
import { timeRepetitions } from '../lib/timing.js';

async function main(): Promise<void> {
  const { values: flags } = parseToolArgs(import.meta.url, {
    steps: { type: 'string' },
    cpu: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const steps = integerArg(flags.steps, '--steps', 30, 1);
  const device = flags.cpu ? 'cpu' : 'cuda';
  const { graph } = buildTrainWorkload('resnet32', 128, 'cuda');
  const trainer = await TrainingSession.create(graph, new Map(), { device, seed: 1 });
  let s = 7;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  const x = Float32Array.from({ length: 128 * 3 * 32 * 32 }, rand);
  const y = BigInt64Array.from({ length: 128 }, (_, i) => BigInt(i % 100));
  const lrs = { backbone: 0.1, classifier: 0.1 };
  const stepMs = (await timeRepetitions(() => trainer.step(x, y, lrs), { warmup: 5, reps: steps })).medianMs;

  // The same bytes in and out, nothing computed: the per-step transfer cost, for the packed state the step uses (one
  // tensor each way) and, for comparison, for one tensor per parameter/buffer/velocity.
  const transfer = async (tensors: [string, Float32Array, number[]][]) => {
    const g = new GraphBuilder('copy-only');
    const input = g.input('input', 'float32', [128, 3, 32, 32]);
    g.output(identity(input), 'input:out');
    for (const [name, , dims] of tensors) g.output(identity(g.input(name, 'float32', dims)), `${name}:out`);
    const copy = await createBackend(encodeModel(g.toModel()), { device });
    const feeds: Record<string, unknown> = { input: new copy.ort.Tensor('float32', x, [128, 3, 32, 32]) };
    for (const [name, data, dims] of tensors) feeds[name] = new copy.ort.Tensor('float32', data, dims);
    const t = await timeRepetitions(() => copy.session.run(feeds as never), { warmup: 5, reps: steps });
    await copy.session.release();
    return t.medianMs;
  };
  const dict = await trainer.stateDict();
  const packed = new Float32Array(graph.stateSize);
  for (const slot of graph.layout) packed.set(dict.get(slot.name)!, slot.offset);
  const packedMs = await transfer([['state', packed, [graph.stateSize]]]);
  const perTensorMs = await transfer(graph.layout.map((s) => [s.name, dict.get(s.name)!, [...s.shape]]));
  const stateBytes = graph.stateSize * 4;
  const result = {
    device: trainer.device,
    model: 'resnet32',
    batch: 128,
    msPerStep: stepMs,
    imagesPerSecond: 128000 / stepMs,
    copyOnlyMsPerStep: packedMs,
    copyShare: packedMs / stepMs,
    copyOnlyPerTensorMsPerStep: perTensorMs,
    stateTensors: graph.layout.length,
    stateMB: stateBytes / 1e6,
  };
  console.log(
    `train-bench ${result.device}: resnet32 b128 ${result.msPerStep.toFixed(1)} ms/step, ${result.imagesPerSecond.toFixed(0)} img/s; ` +
      `packed state ${result.stateMB.toFixed(1)} MB down+up + batch: ${result.copyOnlyMsPerStep.toFixed(2)} ms (${(100 * result.copyShare).toFixed(1)}% of a step); ` +
      `as ${result.stateTensors} separate tensors: ${result.copyOnlyPerTensorMsPerStep.toFixed(2)} ms`,
  );
  if (flags.json) console.log(JSON.stringify(result));
  await trainer.release();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
