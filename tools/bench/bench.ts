/**
 * `npm run bench`: training-step, inference and graph-build throughput of onnx-cil on onnxruntime CPU, next to the
 * machine's MatMul ceiling and (when Debian's python3-torch is installed) PyTorch eager on the same models.
 *
 *   npm run bench [-- --json] [--threads 2] [--quick] [--only train.resnet32,infer] [--compare previous.json]
 *                 [--save out.json] [--no-peer] [--reps N] [--warmup N] [--tolerance 0.1] [--extra '{"enableMemPattern":false}']
 *                 [--from saved.json]   (re-print / compare a saved result without running anything)
 *
 * Every configuration runs in its own child process (this script with `--child <key>`), so its peak RSS is its own,
 * a crash or leak cannot touch the next one, and onnxruntime-web's thread count (fixed at its first session) can
 * differ per configuration. With --json the last stdout line is one JSON object; nested keys such as
 * train.resnet32.imagesPerSecond are read as `jq .train.resnet32.imagesPerSecond`. Timings are medians of timed
 * repetitions after warm-up, with p10/p90 as the spread.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { GraphBuilder } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { matmul } from '../../src/graph/ops/index.js';
import { createBackend, type BackendOptions } from '../../src/runtime/backend.js';
import { TrainingSession } from '../../src/train/session.js';
import { integerArg, jsonArg, listArg, numberArg, parseToolArgs } from '../lib/args.js';
import { peakRssMB, summarize, timeRepetitions } from '../lib/timing.js';
import { buildTrainWorkload, exportedModelBytes, seededFloats, workloadBatch, type TrainWorkloadName } from './workloads.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface BenchArgs {
  json: boolean;
  threads: number;
  quick: boolean;
  only: string[];
  compare?: string;
  save?: string;
  peer: boolean;
  reps?: number;
  warmup?: number;
  tolerance: number;
  child?: string;
  /** Re-render (and --compare/--save) a saved result instead of running. */
  from?: string;
  /** Session options passed through createBackend's `extra` (A/B of session settings). */
  extra?: Partial<InferenceSession.SessionOptions>;
}

/**
 * Parses the command line (`--help` prints the header above).
 * @example parseBenchArgs(['--quick', '--threads', '2']).quick; // true
 */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values: v } = parseToolArgs(
    import.meta.url,
    {
      json: { type: 'boolean' },
      quick: { type: 'boolean' },
      'no-peer': { type: 'boolean' },
      threads: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      tolerance: { type: 'string' },
      only: { type: 'string', multiple: true },
      compare: { type: 'string' },
      save: { type: 'string' },
      child: { type: 'string' },
      from: { type: 'string' },
      extra: { type: 'string' },
    },
    { argv },
  );
  // Zero threads or repetitions mean the least that works (1), as they always have.
  const optionalInteger = (value: string | undefined, flag: string, least: number) =>
    value === undefined ? undefined : Math.max(least, integerArg(value, flag, 0));
  return {
    json: v.json ?? false,
    threads: Math.max(1, integerArg(v.threads, '--threads', 2)),
    quick: v.quick ?? false,
    only: listArg(v.only),
    compare: v.compare,
    save: v.save,
    peer: !v['no-peer'],
    reps: optionalInteger(v.reps, '--reps', 1),
    warmup: optionalInteger(v.warmup, '--warmup', 0),
    tolerance: numberArg(v.tolerance, '--tolerance', 0.1),
    child: v.child,
    from: v.from,
    extra: jsonArg<BenchArgs['extra']>(v.extra, '--extra'),
  };
}

/** Repetition counts of a configuration: explicit flags win, else full or --quick defaults. */
function plan(args: BenchArgs, full: { warmup: number; reps: number }, quick: { warmup: number; reps: number }) {
  const base = args.quick ? quick : full;
  return { warmup: args.warmup ?? base.warmup, reps: args.reps ?? base.reps };
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Configurations (each runs inside a child process).

type Result = Record<string, unknown>;

async function trainConfig(name: TrainWorkloadName, args: BenchArgs, full: { warmup: number; reps: number }): Promise<Result> {
  const w = buildTrainWorkload(name);
  const trainer = await TrainingSession.create(w.graph, w.state, { threads: args.threads, extra: args.extra });
  const { x, y } = workloadBatch(w);
  // A small rate: every step reuses one batch, and the loss must stay finite for the whole run.
  const lrs = Object.fromEntries(w.graph.groups.map((g) => [g, 0.01]));
  const p = plan(args, full, { warmup: 1, reps: 3 });
  const t = await timeRepetitions(() => trainer.step(x, y, lrs), { ...p, onRep: (i, ms) => log(`train.${name} step ${i + 1}/${p.reps}: ${ms.toFixed(0)} ms`) });
  await trainer.release();
  return {
    imagesPerSecond: (w.batch * 1000) / t.medianMs,
    msPerStep: t.medianMs,
    p10Ms: t.p10Ms,
    p90Ms: t.p90Ms,
    gflops: w.flopsPerStep / 1e9 / (t.medianMs / 1000),
    gflopPerStep: w.flopsPerStep / 1e9,
    forwardMMacsPerImage: w.forwardMacsPerImage / 1e6,
    batch: w.batch,
    reps: t.reps,
  };
}

/** Builds a later-phase graph (student + frozen teacher, CE + L_em) and creates its session, repeatedly. */
async function graphBuildConfig(args: BenchArgs): Promise<Result> {
  const reps = (args.reps ?? (args.quick ? 2 : 5)) + 1;
  const total: number[] = [];
  const build: number[] = [];
  const session: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const w = buildTrainWorkload('spb_phase_resnet32');
    const t1 = performance.now();
    const trainer = await TrainingSession.create(w.graph, w.state, { threads: args.threads, extra: args.extra });
    const t2 = performance.now();
    await trainer.release();
    total.push(t2 - t0);
    build.push(t1 - t0);
    session.push(t2 - t1);
    log(`graphBuild.resnet32 ${i + 1}/${reps}: build ${(t1 - t0).toFixed(0)} ms + session ${(t2 - t1).toFixed(0)} ms`);
  }
  // The first build also pays module loading and JIT warm-up, which a run pays once, not at every phase.
  const warm = summarize(total.slice(1));
  return {
    seconds: warm.medianMs / 1000,
    p10Seconds: warm.p10Ms / 1000,
    p90Seconds: warm.p90Ms / 1000,
    buildSeconds: summarize(build.slice(1)).medianMs / 1000,
    sessionSeconds: summarize(session.slice(1)).medianMs / 1000,
    firstSeconds: total[0]! / 1000,
    graph: 'spb later phase: resnet32 student + frozen teacher, 100-class cosine head, batch 128',
  };
}

/**
 * Batch-1 latency and batch-64 throughput of an inference model on one runtime (float32 NCHW input; for exported
 * models with other input layouts, tools/bench/infer.ts).
 * @example const r = await measureInference(bytes, [3, 32, 32], { runtime: 'node', threads: 2 }, { warmup: 3, reps: 20 });
 */
export async function measureInference(
  bytes: Uint8Array,
  inputShape: readonly [number, number, number],
  backend: BackendOptions,
  p: { warmup: number; reps: number },
): Promise<Result> {
  const { ort, session } = await createBackend(bytes, backend);
  const input = session.inputNames[0]!;
  const per = inputShape[0] * inputShape[1] * inputShape[2];
  const run = (x: Tensor) => session.run({ [input]: x });
  const x1 = new ort.Tensor('float32', seededFloats(per, 5), [1, ...inputShape]);
  const x64 = new ort.Tensor('float32', seededFloats(64 * per, 6), [64, ...inputShape]);
  // Batch 1 is cheap and its latency is noisier: five times the repetitions.
  const b1 = await timeRepetitions(() => run(x1), { warmup: Math.max(p.warmup, 3), reps: p.reps * 5 });
  const b64 = await timeRepetitions(() => run(x64), p);
  await session.release();
  return {
    batch1LatencyMs: b1.medianMs,
    batch1P10Ms: b1.p10Ms,
    batch1P90Ms: b1.p90Ms,
    batch64ImagesPerSecond: (64 * 1000) / b64.medianMs,
    batch64MsPerBatch: b64.medianMs,
    batch64P10Ms: b64.p10Ms,
    batch64P90Ms: b64.p90Ms,
  };
}

async function inferConfig(args: BenchArgs, backend: BackendOptions): Promise<Result> {
  const { bytes, inputShape } = exportedModelBytes('resnet32');
  const p = plan(args, { warmup: 3, reps: 20 }, { warmup: 1, reps: 4 });
  return { ...(await measureInference(bytes, inputShape, { ...backend, extra: args.extra }, p)), threads: backend.threads };
}

/** A large square MatMul in onnxruntime on the bench's threads: the machine's practical GFLOP/s ceiling. */
async function matmulConfig(args: BenchArgs): Promise<Result> {
  const n = 2048;
  const g = new GraphBuilder('matmul');
  g.output(matmul(g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n])), 'c');
  const { ort, session } = await createBackend(encodeModel(g.toModel()), { threads: args.threads, extra: args.extra });
  const feeds = { a: new ort.Tensor('float32', seededFloats(n * n, 1), [n, n]), b: new ort.Tensor('float32', seededFloats(n * n, 2), [n, n]) };
  const t = await timeRepetitions(() => session.run(feeds), plan(args, { warmup: 2, reps: 10 }, { warmup: 1, reps: 3 }));
  await session.release();
  // Best-of is the ceiling's usual definition; the median stays alongside for a noisy machine.
  return { gflops: (2 * n ** 3) / 1e9 / (t.minMs / 1000), medianGflops: (2 * n ** 3) / 1e9 / (t.medianMs / 1000), n, medianMs: t.medianMs };
}

const CONFIGS: Record<string, (args: BenchArgs) => Promise<Result>> = {
  matmul: matmulConfig,
  'train.resnet32': (a) => trainConfig('resnet32', a, { warmup: 3, reps: 20 }),
  'train.convnet': (a) => trainConfig('convnet', a, { warmup: 3, reps: 20 }),
  'train.spbm_resnet32': (a) => trainConfig('spbm_resnet32', a, { warmup: 2, reps: 8 }),
  'graphBuild.resnet32': graphBuildConfig,
  'infer.resnet32.node': (a) => inferConfig(a, { runtime: 'node', threads: a.threads }),
  'infer.resnet32.web.wasm1': (a) => inferConfig(a, { runtime: 'web', threads: 1 }),
  'infer.resnet32.web.wasmAll': (a) => inferConfig(a, { runtime: 'web', threads: availableParallelism() }),
};

async function runChild(key: string, args: BenchArgs): Promise<void> {
  const fn = CONFIGS[key];
  if (!fn) throw new Error(`unknown configuration ${key}; known: ${Object.keys(CONFIGS).join(', ')}`);
  const result = await fn(args);
  process.stdout.write(`${JSON.stringify({ key, result: { ...result, peakRssMB: peakRssMB() } })}\n`);
}

/** Runs one configuration in a fresh process of this script; returns its result or an error note. */
function spawnConfig(key: string, args: BenchArgs): Result {
  const childArgs = ['--child', key, '--threads', String(args.threads)];
  if (args.quick) childArgs.push('--quick');
  if (args.reps !== undefined) childArgs.push('--reps', String(args.reps));
  if (args.warmup !== undefined) childArgs.push('--warmup', String(args.warmup));
  if (args.extra) childArgs.push('--extra', JSON.stringify(args.extra));
  log(`${key} ...`);
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...childArgs], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return (JSON.parse(last) as { result: Result }).result;
  } catch {
    return { error: `child exited with ${r.status ?? r.signal}${last ? `: ${last}` : ''}` };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The PyTorch peer.

function runPeer(args: BenchArgs, selected: string[]): Result {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) return { skipped: 'no torch' };
  const peerKeys = ['train.resnet32', 'train.convnet', 'infer.resnet32'].filter((k) => selected.some((s) => s === k || s.startsWith(`${k}.`)));
  if (peerKeys.length === 0) return { skipped: 'no peer configuration selected' };
  const py = ['-u', join(HERE, 'torch_peer.py'), '--threads', String(args.threads), '--only', peerKeys.join(',')];
  if (args.quick) py.push('--quick');
  if (args.reps !== undefined) py.push('--reps', String(args.reps));
  if (args.warmup !== undefined) py.push('--warmup', String(args.warmup));
  log(`peer: ${PYTHON} ${py.join(' ')}`);
  const r = spawnSync(PYTHON, py, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as Result;
  } catch {
    return { error: `torch_peer.py exited with ${r.status ?? r.signal}` };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting.

/**
 * The value at a dotted path of a nested object, or undefined.
 * @example getPath({ a: { b: 1 } }, 'a.b'); // 1
 */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    cur[p] ??= {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

/** Numeric leaves of a nested object as dotted paths. */
export function flatten(obj: unknown, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  if (obj === null || typeof obj !== 'object') return out;
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') out.set(path, v);
    else if (v && typeof v === 'object' && !Array.isArray(v)) for (const [p, n] of flatten(v, path)) out.set(p, n);
  }
  return out;
}

/** Whether a headline metric is better higher (+1) or lower (-1); 0 for spread, shapes and counts (not compared). */
export function direction(path: string): 1 | -1 | 0 {
  // Peer and ratios are not ours to regress; matmul.* repeats matmulGflops.
  if (/^(peer|ratios|host|matmul)\./.test(path)) return 0;
  const leaf = path.split('.').at(-1)!;
  if (/^(imagesPerSecond|batch64ImagesPerSecond|gflops|matmulGflops)$/.test(leaf)) return 1;
  if (/^(msPerStep|batch1LatencyMs|seconds)$/.test(leaf)) return -1;
  // Peak RSS matters for training; the inference and build children's RSS is mostly the runtime itself.
  if (leaf === 'peakRssMB' && path.startsWith('train.')) return -1;
  return 0;
}

export interface Regression {
  metric: string;
  previous: number;
  current: number;
  /** Relative change in the "worse" direction: 0.15 = 15% slower (or larger). */
  worse: number;
}

/**
 * Headline metrics of `current` that are more than `tolerance` worse than in `previous`.
 * @example compareResults(prev, cur, 0.1).filter((r) => r.worse > 0.1);
 */
export function compareResults(previous: unknown, current: unknown, tolerance: number): { rows: Regression[]; regressions: Regression[] } {
  const before = flatten(previous);
  const rows: Regression[] = [];
  for (const [metric, cur] of flatten(current)) {
    const dir = direction(metric);
    const prev = before.get(metric);
    if (!dir || prev === undefined || !(prev > 0) || !Number.isFinite(cur)) continue;
    const worse = dir === 1 ? prev / cur - 1 : cur / prev - 1;
    rows.push({ metric, previous: prev, current: cur, worse });
  }
  return { rows, regressions: rows.filter((r) => r.worse > tolerance) };
}

const fmt = (v: unknown, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Our numbers next to their references, as plain ratios (ours / reference): PyTorch eager on the same models (the
 * peer) and, for training GFLOP/s, the MatMul ceiling of the same machine and threads. Rows without both values show '-'.
 * @example sideBySide(out)[0]; // ['resnet32 training, images/s', '412.3', '130.1', '3.17x']
 */
export function sideBySide(out: Record<string, unknown>): string[][] {
  const num = (p: string) => {
    const v = getPath(out, p);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const row = (what: string, ours: number | undefined, reference: number | undefined, digits = 1) => [
    what,
    fmt(ours, digits),
    fmt(reference, digits),
    ours !== undefined && reference !== undefined && reference > 0 ? `${(ours / reference).toFixed(2)}x` : '-',
  ];
  return [
    row('resnet32 training, images/s (vs PyTorch)', num('train.resnet32.imagesPerSecond'), num('peer.torch.train.resnet32.imagesPerSecond')),
    row('convnet training, images/s (vs PyTorch)', num('train.convnet.imagesPerSecond'), num('peer.torch.train.convnet.imagesPerSecond')),
    row(
      'resnet32 inference batch 64, images/s (vs PyTorch eval)',
      num('infer.resnet32.node.batch64ImagesPerSecond'),
      num('peer.torch.infer.resnet32.batch64ImagesPerSecond'),
    ),
    row('resnet32 training peak RSS, MB (vs PyTorch)', num('train.resnet32.peakRssMB'), num('peer.torch.train.resnet32.peakRssMB'), 0),
    row('resnet32 training GFLOP/s (vs the MatMul ceiling)', num('train.resnet32.gflops'), num('matmulGflops')),
  ];
}

function report(out: Record<string, unknown>): string {
  const g = (p: string) => getPath(out, p);
  const parts: string[] = [];
  const threads = out['threads'];
  parts.push(
    `onnx-cil bench: ${threads} threads, ${(out['host'] as { cpu: string }).cpu}${out['quick'] ? ' (--quick: few repetitions, indicative only)' : ''}`,
  );
  parts.push(
    '\nTraining step (batch 128, forward + loss + backward + SGD), median [p10 .. p90]\n' +
      table(
        ['model', 'images/s', 'ms/step', 'p10..p90 ms', 'GFLOP/s', 'peak RSS MB', 'torch images/s', 'ratio'],
        ['resnet32', 'convnet', 'spbm_resnet32'].map((m) => {
          const r = g(`train.${m}`) as Record<string, number> | undefined;
          if (!r) return [m, '-', '-', '-', '-', '-', '-', '-'];
          if ('error' in r) return [m, String(r['error']), '', '', '', '', '', ''];
          return [
            m,
            fmt(r['imagesPerSecond']),
            fmt(r['msPerStep'], 0),
            `${fmt(r['p10Ms'], 0)}..${fmt(r['p90Ms'], 0)}`,
            fmt(r['gflops']),
            fmt(r['peakRssMB'], 0),
            fmt(g(`peer.torch.train.${m}.imagesPerSecond`)),
            fmt((out['ratios'] as Record<string, number> | undefined)?.[`train.${m}.imagesPerSecond`], 2),
          ];
        }),
      ),
  );
  const inferRow = (name: string, p: string): string[] => {
    const r = g(p) as Record<string, number> | undefined;
    if (!r) return [name, '-', '-', '-', '-'];
    if ('error' in r) return [name, String(r['error']), '', '', ''];
    return [
      name,
      fmt(r['batch1LatencyMs'], 2),
      `${fmt(r['batch1P10Ms'], 2)}..${fmt(r['batch1P90Ms'], 2)}`,
      fmt(r['batch64ImagesPerSecond']),
      String(r['threads'] ?? ''),
    ];
  };
  parts.push(
    '\nExported resnet32 inference (float32 NCHW, BatchNorm folded)\n' +
      table(
        ['runtime', 'batch-1 ms', 'p10..p90', 'batch-64 images/s', 'threads'],
        [
          inferRow('onnxruntime-node', 'infer.resnet32.node'),
          inferRow('onnxruntime-web wasm, 1 thread', 'infer.resnet32.web.wasm1'),
          inferRow('onnxruntime-web wasm, all threads', 'infer.resnet32.web.wasmAll'),
          [
            'torch eval (peer)',
            fmt(g('peer.torch.infer.resnet32.batch1LatencyMs'), 2),
            '',
            fmt(g('peer.torch.infer.resnet32.batch64ImagesPerSecond')),
            String(g('peer.torch.threads') ?? ''),
          ],
        ],
      ),
  );
  parts.push(
    `\nPhase graph build + session: ${fmt(g('graphBuild.resnet32.seconds'), 2)} s (build ${fmt(g('graphBuild.resnet32.buildSeconds'), 2)} + session ${fmt(
      g('graphBuild.resnet32.sessionSeconds'),
      2,
    )}; first in a fresh process ${fmt(g('graphBuild.resnet32.firstSeconds'), 2)} s)`,
  );
  parts.push(`MatMul ceiling (2048^3 float32, onnxruntime): ${fmt(g('matmulGflops'))} GFLOP/s (median ${fmt(g('matmul.medianGflops'))})`);
  const peer = g('peer') as Record<string, unknown> | undefined;
  if (peer && 'skipped' in peer) parts.push(`peer: skipped (${String(peer['skipped'])})`);
  else if (peer && 'error' in peer) parts.push(`peer: failed (${String(peer['error'])})`);
  else if (peer)
    parts.push(
      `peer: PyTorch ${String(g('peer.torch.version'))} eager, ${String(g('peer.torch.threads'))} threads; torch resnet32 peak RSS ${fmt(g('peer.torch.train.resnet32.peakRssMB'), 0)} MB`,
    );
  parts.push(`\nSide by side (ratio = onnx-cil / reference)\n${table(['', 'onnx-cil', 'reference', 'ratio'], sideBySide(out))}`);
  return parts.join('\n');
}

function ratios(out: Record<string, unknown>): Record<string, number> {
  const pairs = ['train.resnet32.imagesPerSecond', 'train.convnet.imagesPerSecond', 'infer.resnet32.batch64ImagesPerSecond', 'train.resnet32.peakRssMB'];
  const r: Record<string, number> = {};
  for (const p of pairs) {
    const ours = getPath(out, p === 'infer.resnet32.batch64ImagesPerSecond' ? 'infer.resnet32.node.batch64ImagesPerSecond' : p);
    const theirs = getPath(out, `peer.torch.${p}`);
    if (typeof ours === 'number' && typeof theirs === 'number' && theirs > 0) r[p] = ours / theirs;
  }
  return r;
}

function ortVersion(): string {
  try {
    const pkg = join(HERE, '../../node_modules/onnxruntime-node/package.json');
    return existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function runAll(args: BenchArgs): Promise<Record<string, unknown>> {
  const selected = Object.keys(CONFIGS).filter((k) => !args.only.length || args.only.some((o) => k === o || k.startsWith(`${o}.`)));
  if (selected.length === 0) throw new Error(`--only ${args.only.join(',')} selects nothing; configurations: ${Object.keys(CONFIGS).join(', ')}`);
  const out: Record<string, unknown> = {
    version: 1,
    date: new Date().toISOString(),
    threads: args.threads,
    quick: args.quick,
    host: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version, onnxruntime: ortVersion() },
    ...(args.extra ? { extra: args.extra } : {}),
  };
  for (const key of selected) {
    const r = spawnConfig(key, args);
    if (key === 'matmul') {
      out['matmulGflops'] = r['gflops'];
      out['matmul'] = r;
    } else setPath(out, key, r);
  }
  out['peer'] = args.peer ? runPeer(args, selected) : { skipped: '--no-peer' };
  out['ratios'] = ratios(out);
  return out;
}

/**
 * A change between two results as a plain ratio of the larger to the smaller value: "9.0x slower" from 2x on,
 * "12% faster" or "8% slower" below, "same" under 0.05%; memory gets "larger"/"smaller".
 * @example describeChange({ metric: 'train.resnet32.imagesPerSecond', previous: 90, current: 10, worse: 8 }); // '9.0x slower'
 */
export function describeChange(r: Regression): string {
  const factor = 1 + r.worse; // > 1: worse by this factor, < 1: better
  if (!(factor > 0) || !Number.isFinite(factor)) return '-';
  const ratio = Math.max(factor, 1 / factor);
  if (ratio < 1.0005) return 'same';
  const memory = r.metric.endsWith('peakRssMB');
  const word = factor > 1 ? (memory ? 'larger' : 'slower') : memory ? 'smaller' : 'faster';
  if (ratio >= 2) return `${ratio.toFixed(1)}x ${word}`;
  const pct = (ratio - 1) * 100;
  return `${pct.toFixed(pct < 1 ? 1 : 0)}% ${word}`;
}

/** The --compare table and whether anything regressed beyond the tolerance. */
function compareReport(previousPath: string, out: Record<string, unknown>, tolerance: number): { text: string; failed: boolean } {
  const previous = JSON.parse(readFileSync(previousPath, 'utf8')) as Record<string, unknown>;
  const { rows, regressions } = compareResults(previous, out, tolerance);
  const pct = `${(tolerance * 100).toFixed(0)}%`;
  const noteThreads = previous['threads'] !== out['threads'] ? ` (threads differ: ${String(previous['threads'])} then ${String(out['threads'])})` : '';
  let text =
    `\nCompared with ${previousPath}${noteThreads}; REGRESSION = worse by more than ${pct}\n` +
    table(
      ['metric', 'previous', 'now', 'change', ''],
      rows.map((r) => [r.metric, fmt(r.previous, 2), fmt(r.current, 2), describeChange(r), r.worse > tolerance ? 'REGRESSION' : '']),
    );
  if (rows.length === 0) text += '\nno metric in common with the previous result.';
  else if (regressions.length === 0) text += '\nno regression.';
  else {
    text += `\n${regressions.length} metric(s) regressed by more than ${pct}.`;
    const ceiling = rows.find((r) => r.metric === 'matmulGflops');
    if (ceiling && ceiling.worse > tolerance) text += ' The MatMul ceiling dropped too: the machine itself may be slower or busier.';
  }
  return { text, failed: regressions.length > 0 };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.child) return runChild(args.child, args);

  const out = args.from ? (JSON.parse(readFileSync(args.from, 'utf8')) as Record<string, unknown>) : await runAll(args);
  const compared = args.compare ? compareReport(args.compare, out, args.tolerance) : { text: '', failed: false };
  // The tables go to stdout normally; with --json they move to stderr so stdout stays machine-readable.
  const human = `${report(out)}${compared.text}\n`;
  if (args.json) process.stderr.write(human);
  else process.stdout.write(human);
  if (args.save) writeFileSync(args.save, `${JSON.stringify(out, null, 2)}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  if (compared.failed) process.exitCode = 1;
}

// Run only as a script, so the exported helpers can be imported without starting a bench.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
