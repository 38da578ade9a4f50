/**
 * A/B of onnxruntime session settings on a training step, through createBackend's `extra` options (the defaults in
 * src/runtime/backend.ts are not touched). Each measurement is a fresh child process of bench.ts
 * (`--child train.<model> --extra <json>`), so arenas, thread pools and spinning workers of one variant cannot
 * affect another; variants alternate round-robin (order rotated every round) so a neighbour's load on shared cores
 * hits them all alike, and each variant is reported as its per-round ratio to the baseline of the same round.
 *
 *   node --import tsx tools/bench/session-settings.ts [--model resnet32] [--threads 2] [--rounds 3] [--reps 4]
 *        [--warmup 1] [--only name,name] [--json]
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerArg, listArg, parseToolArgs } from '../lib/args.js';
import { median } from '../lib/timing.js';

interface Variant {
  name: string;
  extra: Record<string, unknown>;
}

const spin = (on: boolean) => ({ session: { intra_op: { allow_spinning: on ? '1' : '0' } } });

/** The settings tried; `baseline` is whatever src/runtime/backend.ts does today. */
function variants(threads: number): Variant[] {
  return [
    { name: 'baseline', extra: {} },
    { name: 'graphOptimizationLevel=extended', extra: { graphOptimizationLevel: 'extended' } },
    { name: 'graphOptimizationLevel=basic', extra: { graphOptimizationLevel: 'basic' } },
    { name: 'enableMemPattern=false', extra: { enableMemPattern: false } },
    { name: 'enableCpuMemArena=false', extra: { enableCpuMemArena: false } },
    { name: 'executionMode=parallel', extra: { executionMode: 'parallel', interOpNumThreads: threads } },
    { name: `intraOpNumThreads=${threads + 1}`, extra: { intraOpNumThreads: threads + 1 } },
    { name: 'allow_spinning=0', extra: { extra: spin(false) } },
    { name: 'set_denormal_as_zero=1', extra: { extra: { session: { set_denormal_as_zero: '1' } } } },
  ];
}

interface Measurement {
  msPerStep: number;
  peakRssMB: number;
}

function measure(model: string, v: Variant, opts: { threads: number; reps: number; warmup: number }): Measurement | null {
  const bench = join(dirname(fileURLToPath(import.meta.url)), 'bench.ts');
  const args = ['--child', `train.${model}`, '--threads', String(opts.threads), '--reps', String(opts.reps), '--warmup', String(opts.warmup)];
  if (Object.keys(v.extra).length) args.push('--extra', JSON.stringify(v.extra));
  const r = spawnSync(process.execPath, [...process.execArgv, bench, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const { result } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { result: Measurement };
    return result;
  } catch {
    process.stderr.write(`[settings] ${v.name}: child failed (${r.status ?? r.signal})\n`);
    return null;
  }
}

async function main(): Promise<void> {
  const { values: flags } = parseToolArgs(import.meta.url, {
    model: { type: 'string', default: 'resnet32' },
    threads: { type: 'string' },
    rounds: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
  });
  const o = {
    model: flags.model,
    threads: integerArg(flags.threads, '--threads', 2, 1),
    rounds: integerArg(flags.rounds, '--rounds', 3, 1),
    reps: integerArg(flags.reps, '--reps', 4, 1),
    warmup: integerArg(flags.warmup, '--warmup', 1),
    only: listArg(flags.only),
    json: flags.json,
  };
  const all = variants(o.threads).filter((v) => v.name === 'baseline' || !o.only.length || o.only.some((s) => v.name.includes(s)));
  const ms = new Map(all.map((v) => [v.name, [] as number[]]));
  const rss = new Map(all.map((v) => [v.name, [] as number[]]));
  const ratios = new Map(all.map((v) => [v.name, [] as number[]]));
  for (let round = 0; round < o.rounds; round++) {
    const got = new Map<string, number>();
    for (let j = 0; j < all.length; j++) {
      const v = all[(round + j) % all.length]!;
      const m = measure(o.model, v, o);
      if (!m) continue;
      got.set(v.name, m.msPerStep);
      ms.get(v.name)!.push(m.msPerStep);
      rss.get(v.name)!.push(m.peakRssMB);
      process.stderr.write(`[settings] round ${round + 1}/${o.rounds} ${v.name}: ${m.msPerStep.toFixed(0)} ms/step, ${m.peakRssMB.toFixed(0)} MB\n`);
    }
    const base = got.get('baseline');
    if (base) for (const [name, t] of got) ratios.get(name)!.push(t / base);
  }
  const rows = all.map((v) => ({
    variant: v.name,
    extra: v.extra,
    medianMsPerStep: median(ms.get(v.name)!),
    /** Per-round time relative to the same round's baseline: < 1 is faster. */
    medianRatio: median(ratios.get(v.name)!),
    minRatio: Math.min(...ratios.get(v.name)!),
    maxRatio: Math.max(...ratios.get(v.name)!),
    peakRssMB: median(rss.get(v.name)!),
  }));
  if (o.json) {
    console.log(JSON.stringify({ model: o.model, threads: o.threads, rounds: o.rounds, reps: o.reps, rows }));
    return;
  }
  console.log(`\n${o.model} training step, ${o.threads} threads, ${o.rounds} alternating rounds of ${o.warmup} warm-up + ${o.reps} timed steps per variant`);
  console.log(`${'variant'.padEnd(34)} ${'ms/step'.padStart(8)} ${'vs baseline'.padStart(12)} ${'range'.padStart(13)} ${'RSS MB'.padStart(7)}`);
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(34)} ${r.medianMsPerStep.toFixed(0).padStart(8)} ${r.medianRatio.toFixed(3).padStart(12)} ${`${r.minRatio.toFixed(2)}..${r.maxRatio.toFixed(2)}`.padStart(13)} ${r.peakRssMB.toFixed(0).padStart(7)}`,
    );
  }
}

await main();
