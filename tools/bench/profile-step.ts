/**
 * Where a training step spends its time: runs N steps of a bench workload with onnxruntime's profiler on
 * (createBackend's enableProfiling) and prints the op types by total kernel time per step, the split between
 * forward, backward (nodes under the autodiff's `grad/` scope) and the SGD update (`optimizer/`), and optionally the
 * heaviest single nodes.
 *
 *   node --import tsx tools/bench/profile-step.ts [--model resnet32|convnet|spbm_resnet32] [--steps 5] [--warmup 2]
 *        [--threads 2] [--top 15] [--nodes 10] [--keep] [--json] [--extra '{"enableMemPattern":false}']
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-common';
import { TrainingSession } from '../../src/train/session.js';
import { integerArg, jsonArg, parseToolArgs } from '../lib/args.js';
import { buildTrainWorkload, TRAIN_WORKLOADS, workloadBatch, type TrainWorkloadName } from './workloads.js';

/** One event of onnxruntime's Chrome-trace profile. */
export interface ProfileEvent {
  cat: string;
  name: string;
  /** Microseconds. */
  dur: number;
  ts: number;
  args?: { op_name?: string; provider?: string };
}

export interface OpTime {
  op: string;
  /** Kernel time per step, ms. */
  ms: number;
  /** Nodes of this type run per step. */
  nodes: number;
  share: number;
}

export interface StepProfile {
  /** Wall time of session.run per step as the profiler saw it, ms. */
  runMs: number;
  /** Sum of kernel times per step, ms (less than runMs by the executor's own overhead; more with parallel kernels). */
  kernelMs: number;
  byOp: OpTime[];
  byPhase: Record<'forward' | 'backward' | 'optimizer', number>;
  topNodes: { node: string; op: string; ms: number }[];
}

/** Which part of the training graph a node belongs to, from its scope (names survive onnxruntime's fusions as prefixes). */
function phaseOf(node: string): 'forward' | 'backward' | 'optimizer' {
  if (node.startsWith('grad/')) return 'backward';
  if (node.startsWith('optimizer/')) return 'optimizer';
  return 'forward';
}

/**
 * Aggregates the last `steps` runs of a profile (earlier runs are warm-up).
 * @example const p = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 5);
 */
export function summarizeProfile(events: readonly ProfileEvent[], steps: number): StepProfile {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const timed = runs.slice(-steps);
  const from = timed[0]?.ts ?? 0;
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= from);
  const byOp = new Map<string, { us: number; count: number }>();
  const byNode = new Map<string, { us: number; op: string }>();
  const byPhase = { forward: 0, backward: 0, optimizer: 0 };
  let total = 0;
  for (const e of kernels) {
    const op = e.args?.op_name ?? '?';
    const node = e.name.slice(0, -'_kernel_time'.length);
    const o = byOp.get(op) ?? { us: 0, count: 0 };
    o.us += e.dur;
    o.count++;
    byOp.set(op, o);
    const n = byNode.get(node) ?? { us: 0, op };
    n.us += e.dur;
    byNode.set(node, n);
    byPhase[phaseOf(node)] += e.dur;
    total += e.dur;
  }
  const perStep = (us: number) => us / 1000 / Math.max(1, timed.length);
  return {
    runMs: perStep(timed.reduce((a, e) => a + e.dur, 0)),
    kernelMs: perStep(total),
    byOp: [...byOp].map(([op, v]) => ({ op, ms: perStep(v.us), nodes: v.count / Math.max(1, timed.length), share: v.us / total })).sort((a, b) => b.ms - a.ms),
    byPhase: { forward: perStep(byPhase.forward), backward: perStep(byPhase.backward), optimizer: perStep(byPhase.optimizer) },
    topNodes: [...byNode].map(([node, v]) => ({ node, op: v.op, ms: perStep(v.us) })).sort((a, b) => b.ms - a.ms),
  };
}

/**
 * Runs `warmup + steps` profiled training steps of a workload and summarises the profile of the last `steps`.
 * @example const p = await profileTrainingStep('resnet32', { steps: 5, warmup: 2, threads: 2 });
 */
export async function profileTrainingStep(
  model: TrainWorkloadName,
  opts: { steps: number; warmup: number; threads: number; keep?: boolean; extra?: Partial<InferenceSession.SessionOptions> },
): Promise<StepProfile & { file?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-profile-'));
  const w = buildTrainWorkload(model);
  const trainer = await TrainingSession.create(w.graph, w.state, {
    threads: opts.threads,
    enableProfiling: true,
    profilePrefix: join(dir, model),
    extra: opts.extra,
  });
  const { x, y } = workloadBatch(w);
  const lrs = Object.fromEntries(w.graph.groups.map((g) => [g, 0.01]));
  for (let i = 0; i < opts.warmup + opts.steps; i++) {
    const t0 = performance.now();
    await trainer.step(x, y, lrs);
    process.stderr.write(
      `[profile] ${model} step ${i + 1}/${opts.warmup + opts.steps}: ${(performance.now() - t0).toFixed(0)} ms${i < opts.warmup ? ' (warm-up)' : ''}\n`,
    );
  }
  // TrainingSession keeps its onnxruntime session private; releasing it ends profiling and writes the file.
  await trainer.release();
  const file = readdirSync(dir).find((f) => f.endsWith('.json'));
  if (!file) throw new Error(`onnxruntime wrote no profile into ${dir}`);
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[];
  const summary = summarizeProfile(events, opts.steps);
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  return { ...summary, ...(opts.keep ? { file: join(dir, file) } : {}) };
}

async function main(): Promise<void> {
  const { values: v } = parseToolArgs(import.meta.url, {
    model: { type: 'string', default: 'resnet32' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    threads: { type: 'string' },
    top: { type: 'string' },
    nodes: { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    extra: { type: 'string' },
  });
  const opts = {
    model: v.model as TrainWorkloadName,
    steps: integerArg(v.steps, '--steps', 5, 1),
    warmup: integerArg(v.warmup, '--warmup', 2),
    threads: integerArg(v.threads, '--threads', 2, 1),
    top: integerArg(v.top, '--top', 15),
    nodes: integerArg(v.nodes, '--nodes', 0),
    keep: v.keep,
    json: v.json,
    extra: jsonArg<Record<string, unknown>>(v.extra, '--extra'),
  };
  if (!TRAIN_WORKLOADS.includes(opts.model)) throw new Error(`--model must be one of ${TRAIN_WORKLOADS.join(', ')}`);
  const p = await profileTrainingStep(opts.model, opts);
  if (opts.json) {
    console.log(JSON.stringify(p));
    return;
  }
  console.log(`\n${opts.model}, batch 128, ${opts.threads} threads: per step over ${opts.steps} profiled steps (after ${opts.warmup} warm-up)`);
  console.log(`session.run ${p.runMs.toFixed(0)} ms; kernels ${p.kernelMs.toFixed(0)} ms`);
  console.log(
    `forward ${p.byPhase.forward.toFixed(0)} ms, backward ${p.byPhase.backward.toFixed(0)} ms, SGD update ${p.byPhase.optimizer.toFixed(0)} ms (kernel time)\n`,
  );
  console.log(`${'op'.padEnd(22)} ${'ms/step'.padStart(8)} ${'share'.padStart(6)} ${'nodes'.padStart(6)} ${'ms/node'.padStart(8)}`);
  for (const o of p.byOp.slice(0, opts.top)) {
    console.log(
      `${o.op.padEnd(22)} ${o.ms.toFixed(1).padStart(8)} ${(o.share * 100).toFixed(1).padStart(5)}% ${o.nodes.toFixed(0).padStart(6)} ${(o.ms / o.nodes).toFixed(2).padStart(8)}`,
    );
  }
  const rest = p.byOp.slice(opts.top);
  if (rest.length) {
    const ms = rest.reduce((a, o) => a + o.ms, 0);
    console.log(`${`(${rest.length} more types)`.padEnd(22)} ${ms.toFixed(1).padStart(8)}`);
  }
  if (opts.nodes) {
    console.log('\nheaviest nodes');
    for (const n of p.topNodes.slice(0, opts.nodes)) console.log(`  ${n.ms.toFixed(1).padStart(7)} ms  ${n.op.padEnd(16)} ${n.node}`);
  }
  if (p.file) console.log(`\nprofile kept at ${p.file} (open in chrome://tracing or https://ui.perfetto.dev)`);
}

await main();
