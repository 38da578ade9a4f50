/**
 * The one finite-difference checker for gradients: every op rule and whole networks are tested through it.
 * It compares our reverse-mode gradients, executed by onnxruntime, with central differences of the same graph.
 */
import { GraphBuilder, type Value } from '../graph/builder.js';
import { encodeModel } from '../graph/onnx-proto.js';
import { mul } from '../graph/ops/mul.js';
import { reduceSum } from '../graph/ops/reduce-sum.js';
import { createBackend, type BackendOptions } from '../runtime/backend.js';
import { gradients } from './backprop.js';
import type { GradRule } from './rule.js';

export interface GradCheckInput {
  name: string;
  shape: readonly number[];
  /** float32 data (default: seeded uniform in [-1, 1]); int64 inputs are never differentiated. */
  data?: Float32Array;
  int64?: BigInt64Array;
  /** false for float inputs that should be held fixed (e.g. running statistics). */
  differentiable?: boolean;
}

export interface GradCheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Random directions per input (directional derivatives) and single coordinates per input. */
  directions?: number;
  coordinates?: number;
  seed?: number;
  backend?: BackendOptions;
  /** Gradient rules by op type (default: GRAD_RULES), e.g. to show that a wrong rule is caught. */
  rules?: ReadonlyMap<string, GradRule>;
}

export interface GradCheckResult {
  input: string;
  kind: 'direction' | 'coordinate';
  analytic: number;
  numeric: number;
  ok: boolean;
}

export interface GradCheckReport {
  ok: boolean;
  maxRelativeError: number;
  /** Cosine similarity of all analytic vs all numeric probe values: close to 1 unless something is systematically wrong. */
  agreement: number;
  results: GradCheckResult[];
  /** Human-readable list of failures (empty when ok). */
  failures: string[];
}

/** Small deterministic generator so checks are reproducible without the data layer. */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * The forward graph that `checkGradients` differentiates: `inputs` as graph inputs and `build`'s output, before any
 * loss or gradient node. Tests walk its nodes to see which op types (and so which gradient rules) a check exercises.
 * @example
 * const { graph } = buildCheckedGraph([{ name: 'x', shape: [2, 3] }], ([x]) => exp(x!));
 * graph.nodes.map((n) => n.op.opType); // ['Exp']
 */
export function buildCheckedGraph(
  inputs: readonly GradCheckInput[],
  build: (values: Value[], graph: GraphBuilder) => Value,
): { graph: GraphBuilder; values: Value[]; out: Value } {
  const graph = new GraphBuilder('gradcheck');
  const values = inputs.map((i) => graph.input(i.name, i.int64 ? 'int64' : 'float32', i.shape));
  return { graph, values, out: build(values, graph) };
}

/**
 * Checks d(sum(R * f(inputs)))/d(input) for every differentiable input, R a fixed random projection.
 * @example
 * const report = await checkGradients([{ name: 'x', shape: [2, 3] }], ([x]) => exp(x!));
 * assert.ok(report.ok, report.failures.join('\n'));
 */
export async function checkGradients(
  inputs: readonly GradCheckInput[],
  build: (values: Value[], graph: GraphBuilder) => Value,
  opts: GradCheckOptions = {},
): Promise<GradCheckReport> {
  const { eps = 1e-3, rtol = 2e-2, atol = 1e-3, directions = 2, coordinates = 3, seed = 7 } = opts;
  const rand = lcg(seed);
  const { graph: g, values, out } = buildCheckedGraph(inputs, build);
  const projection = g.input('projection', 'float32', out.shape);
  const loss = reduceSum(mul(out, projection), undefined, false);
  const diff = inputs.map((i, k) => !i.int64 && i.differentiable !== false && values[k]);
  const wrt = values.filter((_, k) => diff[k]);
  const grads = gradients(loss, wrt, { target: opts.backend?.device === 'cuda' ? 'gpu' : 'cpu', rules: opts.rules });
  g.output(loss, 'loss');
  for (const [k, gv] of grads.entries()) g.output(gv, `grad_${wrt[k]!.name}`);
  const { ort, session } = await createBackend(encodeModel(g.toModel()), { threads: 1, ...opts.backend });

  const data = inputs.map((i) => i.int64 ?? i.data ?? Float32Array.from({ length: i.shape.reduce((a, d) => a * d, 1) }, () => rand() * 2 - 1));
  const proj = Float32Array.from({ length: out.size }, () => rand() * 2 - 1);
  const feeds = (override?: { index: number; data: Float32Array }) => {
    const f: Record<string, InstanceType<typeof ort.Tensor>> = {
      projection: new ort.Tensor('float32', proj, [...out.shape]),
    };
    inputs.forEach((inp, k) => {
      const d = override?.index === k ? override.data : data[k]!;
      f[inp.name] = d instanceof BigInt64Array ? new ort.Tensor('int64', d, [...inp.shape]) : new ort.Tensor('float32', d as Float32Array, [...inp.shape]);
    });
    return f;
  };
  const lossAt = async (index: number, x: Float32Array) => Number((await session.run(feeds({ index, data: x })))['loss']!.data[0]);

  const base = await session.run(feeds());
  const results: GradCheckResult[] = [];
  let w = 0;
  for (let k = 0; k < inputs.length; k++) {
    if (!diff[k]) continue;
    const name = wrt[w++]!.name;
    const analyticGrad = base[`grad_${name}`]!.data as Float32Array;
    const x0 = data[k] as Float32Array;
    const probes: { kind: GradCheckResult['kind']; v: Float32Array }[] = [];
    for (let d = 0; d < directions; d++) {
      const v = Float32Array.from(x0, () => gaussian(rand));
      const norm = Math.hypot(...v);
      probes.push({ kind: 'direction', v: v.map((e) => e / norm) });
    }
    for (let c = 0; c < Math.min(coordinates, x0.length); c++) {
      const v = new Float32Array(x0.length);
      v[Math.floor(rand() * x0.length)] = 1;
      probes.push({ kind: 'coordinate', v });
    }
    for (const { kind, v } of probes) {
      const plus = x0.map((e, i) => e + eps * v[i]!);
      const minus = x0.map((e, i) => e - eps * v[i]!);
      const numeric = ((await lossAt(k, plus)) - (await lossAt(k, minus))) / (2 * eps);
      let analytic = 0;
      for (let i = 0; i < v.length; i++) analytic += analyticGrad[i]! * v[i]!;
      const ok = Math.abs(numeric - analytic) <= atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic));
      results.push({ input: name, kind, analytic, numeric, ok });
    }
  }
  await session.release();
  const failures = results
    .filter((r) => !r.ok)
    .map((r) => `${r.input} (${r.kind}): analytic ${r.analytic.toExponential(4)} vs numeric ${r.numeric.toExponential(4)}`);
  const maxRelativeError = Math.max(0, ...results.map((r) => Math.abs(r.numeric - r.analytic) / Math.max(1e-8, Math.abs(r.numeric), Math.abs(r.analytic))));
  let dot = 0;
  let na = 0;
  let nn = 0;
  for (const r of results) {
    dot += r.analytic * r.numeric;
    na += r.analytic * r.analytic;
    nn += r.numeric * r.numeric;
  }
  const agreement = na === 0 && nn === 0 ? 1 : dot / Math.sqrt(na * nn || 1);
  return { ok: failures.length === 0, maxRelativeError, agreement, results, failures };
}
