/**
 * Inference latency and throughput of an exported model (default: ResNet-32, 100 classes, 3x32x32, as
 * `onnx-cil export` writes it) in onnxruntime-node and onnxruntime-web (wasm) on this machine: single-image latency
 * (batch 1) and batch-64 throughput. Every configuration runs in its own process, because onnxruntime-web fixes its
 * wasm thread count when it first starts.
 *
 *   node --import tsx tools/bench/infer.ts [--model exported.onnx] [--json] [--reps 8] [--only node,web1]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-common';
import { inputNameOf, parseModelInfo } from '../../src/export/metadata.js';
import { decodeModel } from '../../src/graph/onnx-proto.js';
import { createBackend, type BackendOptions } from '../../src/runtime/backend.js';
import { integerArg, listArg, parseToolArgs } from '../lib/args.js';
import { timeRepetitions } from '../lib/timing.js';
import { exportedModelBytes, seededFloats } from './workloads.js';

interface Config {
  key: string;
  label: string;
  backend: BackendOptions;
}

const ALL_THREADS = availableParallelism();
const CONFIGS: Config[] = [
  { key: 'node', label: `onnxruntime-node cpu, ${ALL_THREADS} threads`, backend: { runtime: 'node', threads: ALL_THREADS } },
  { key: 'node1', label: 'onnxruntime-node cpu, 1 thread', backend: { runtime: 'node', threads: 1 } },
  { key: 'web1', label: 'onnxruntime-web wasm, 1 thread', backend: { runtime: 'web', threads: 1 } },
  { key: 'webAll', label: `onnxruntime-web wasm, ${ALL_THREADS} threads`, backend: { runtime: 'web', threads: ALL_THREADS } },
];

export interface InferResult {
  config: string;
  label: string;
  batch1LatencyMs: number;
  batch1P90Ms: number;
  batch64MsPerBatch: number;
  batch64ImagesPerSecond: number;
}

function modelBytes(path: string | undefined): Uint8Array {
  return path ? readFileSync(path) : exportedModelBytes('resnet32').bytes;
}

/** Times one configuration in this process. */
async function measure(config: Config, bytes: Uint8Array, reps: number): Promise<InferResult> {
  const info = parseModelInfo(decodeModel(bytes).metadata_props ?? []);
  const [c, h, w] = info.inputSize;
  const { ort, session } = await createBackend(bytes, config.backend);
  const name = inputNameOf(info.inputLayout);
  const tensor = (n: number): Tensor => {
    if (info.inputLayout === 'float32-nchw') return new ort.Tensor('float32', seededFloats(n * c * h * w, n), [n, c, h, w]);
    const k = info.inputLayout === 'uint8-rgba' ? 4 : c;
    return new ort.Tensor(
      'uint8',
      Uint8Array.from(seededFloats(n * h * w * k, n), (v) => Math.floor((v + 1) * 127)),
      [n, h, w, k],
    );
  };
  const x1 = tensor(1);
  const x64 = tensor(64);
  const b1 = await timeRepetitions(() => session.run({ [name]: x1 }), { warmup: 5, reps: reps * 6 });
  const b64 = await timeRepetitions(() => session.run({ [name]: x64 }), { warmup: 2, reps });
  await session.release();
  return {
    config: config.key,
    label: config.label,
    batch1LatencyMs: b1.medianMs,
    batch1P90Ms: b1.p90Ms,
    batch64MsPerBatch: b64.medianMs,
    batch64ImagesPerSecond: (64 * 1000) / b64.medianMs,
  };
}

async function main(): Promise<void> {
  const { values: flags } = parseToolArgs(import.meta.url, {
    model: { type: 'string' },
    json: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string', multiple: true },
    child: { type: 'string' },
  });
  const { model, child } = flags;
  const reps = integerArg(flags.reps, '--reps', 8, 1);
  if (child) {
    const config = CONFIGS.find((c) => c.key === child)!;
    process.stdout.write(`${JSON.stringify(await measure(config, modelBytes(model), reps))}\n`);
    return;
  }
  const only = listArg(flags.only);
  const selected = CONFIGS.filter((c) => !only.length || only.includes(c.key));
  if (selected.length === 0) throw new Error(`--only names none of ${CONFIGS.map((c) => c.key).join(', ')}`);
  const results: InferResult[] = [];
  for (const config of selected) {
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', config.key, '--reps', String(reps), ...(model ? ['--model', model] : [])], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`${config.label} failed:\n${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as InferResult);
  }
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: ALL_THREADS,
    node: process.version,
    model: model ?? 'resnet32 (exported, 100 classes, 3x32x32, float32-nchw input)',
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ machine, results })}\n`);
    return;
  }
  const rows = [
    ['runtime', 'batch-1 latency (median)', 'batch-1 p90', 'batch-64 ms/batch', 'batch-64 images/s'],
    ...results.map((r) => [
      r.label,
      `${r.batch1LatencyMs.toFixed(2)} ms`,
      `${r.batch1P90Ms.toFixed(2)} ms`,
      `${r.batch64MsPerBatch.toFixed(1)} ms`,
      r.batch64ImagesPerSecond.toFixed(0),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`${machine.model} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}\n\n`);
  const table = [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)];
  process.stdout.write(`${table.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`infer bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
