/**
 * Conv gradient formulations, timed on onnxruntime CPU for the conv layers of resnet32 and convnet at batch 128.
 * Each candidate is a small ONNX graph from inputs (x, dy, w) to dW or dX; every candidate is checked against the
 * first of its kind and timed round-robin (A, B, C, A, B, C, ...) so a neighbour's load on the shared cores hits all
 * alike. Besides wall time (median, p10, p90) it reports the process CPU time per call, which other work on the
 * cores does not inflate: on a busy 2-core machine that is the steadier number to choose by.
 *
 * Sessions run with intra-op spinning off: with it on, the idle worker of the session that just ran keeps spinning
 * and steals a core from the next one (measured: alternating four identical Conv sessions doubled their median).
 * Pass --spin to time with onnxruntime's default instead. --profile prints onnxruntime's per-op-type kernel times
 * for each candidate instead of timing them.
 *
 *   node --import tsx tools/bench/conv-grad.ts [--threads 2] [--reps 21] [--warmup 3] [--batch 128]
 *        [--only '16->16'] [--skip 'candidate name part'] [--spin] [--profile] [--json]
 */
import { GraphBuilder, constTensor, type OpDef, type Value } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { concat } from '../../src/graph/ops/concat.js';
import { conv } from '../../src/graph/ops/conv.js';
import { convTranspose } from '../../src/graph/ops/conv-transpose.js';
import { gemm } from '../../src/graph/ops/gemm.js';
import { matmul } from '../../src/graph/ops/matmul.js';
import { pad } from '../../src/graph/ops/pad.js';
import { reduceSum } from '../../src/graph/ops/reduce-sum.js';
import { reshape } from '../../src/graph/ops/reshape.js';
import { slice } from '../../src/graph/ops/slice.js';
import { transpose } from '../../src/graph/ops/transpose.js';
import { unsqueeze } from '../../src/graph/ops/unsqueeze.js';
import { add } from '../../src/graph/ops/add.js';
import { convInputGrad, convWeightGrad } from '../../src/autodiff/grads/conv-grad.js';
import { createBackend, type Backend } from '../../src/runtime/backend.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { integerArg, parseToolArgs } from '../lib/args.js';
import { median, quantile } from '../lib/timing.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Layer {
  model: string;
  n: number;
  c: number;
  o: number;
  h: number;
  k: number;
  s: number;
  p: number;
  /** The first layer of a model needs no input gradient. */
  dx: boolean;
}

const layer = (model: string, c: number, o: number, h: number, k: number, s: number, dx = true): Omit<Layer, 'n'> => ({
  model,
  c,
  o,
  h,
  k,
  s,
  p: (k - 1) >> 1,
  dx,
});

const LAYERS = [
  layer('resnet32', 3, 16, 32, 3, 1, false),
  layer('resnet32', 16, 16, 32, 3, 1),
  layer('resnet32', 16, 32, 32, 3, 2),
  layer('resnet32', 32, 32, 16, 3, 1),
  layer('resnet32', 32, 64, 16, 3, 2),
  layer('resnet32', 64, 64, 8, 3, 1),
  layer('resnet32', 16, 32, 32, 1, 2),
  layer('resnet32', 32, 64, 16, 1, 2),
  layer('convnet', 1, 32, 28, 3, 1, false),
  layer('convnet', 32, 64, 28, 3, 2),
  layer('convnet', 64, 64, 14, 3, 1),
  layer('convnet', 64, 128, 14, 3, 2),
];

const outSize = (l: Layer) => Math.floor((l.h + 2 * l.p - l.k) / l.s) + 1;
const label = (l: Layer) => `${l.c}->${l.o} ${l.k}x${l.k} s${l.s} ${l.h}x${l.h}`;
const convAttrs = (l: Layer) => ({ strides: [l.s, l.s], pads: [l.p, l.p, l.p, l.p] });

// ---------------------------------------------------------------------------------------------------------------
// Ops the graph library does not define (kept local: only candidates use them).

const DepthToSpaceOp: OpDef<{ blocksize: number; mode: string }> = {
  opType: 'DepthToSpace',
  attrKinds: { blocksize: 'int', mode: 'string' },
  infer: ([x], { blocksize: b }) => [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]! / (b * b), x!.shape[2]! * b, x!.shape[3]! * b] }],
};
const depthToSpace = (x: Value, b: number) => x.graph.apply(DepthToSpaceOp, [x], { blocksize: b, mode: 'DCR' })[0]!;

const EinsumOp: OpDef<{ equation: string }> = {
  opType: 'Einsum',
  attrKinds: { equation: 'string' },
  infer(inputs, { equation }) {
    const [lhs, out] = equation.split('->') as [string, string];
    const dims = new Map<string, number>();
    for (const [k, term] of lhs.split(',').entries()) for (const [i, ch] of [...term].entries()) dims.set(ch, inputs[k]!.shape[i]!);
    return [{ dtype: inputs[0]!.dtype, shape: [...out].map((ch) => dims.get(ch)!) }];
  },
};
const einsum = (equation: string, ...xs: Value[]) => xs[0]!.graph.apply(EinsumOp, xs, { equation })[0]!;

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces.

/** The kh*kw (strided) views of the zero-padded NCHW input, each [N, C, OH, OW]. */
function shiftedViews(x: Value, l: Layer, oh: number): Value[] {
  const padded = l.p ? pad(x, [0, 0, l.p, l.p, 0, 0, l.p, l.p]) : x;
  const views: Value[] = [];
  for (let i = 0; i < l.k; i++) {
    for (let j = 0; j < l.k; j++) {
      views.push(slice(padded, { starts: [i, j], ends: [i + l.s * (oh - 1) + 1, j + l.s * (oh - 1) + 1], axes: [2, 3], steps: [l.s, l.s] }));
    }
  }
  return views;
}

/** One-hot kernel that copies input channel c, tap t to output channel c*kk + t: a Conv with it is im2col. */
function oneHotKernel(g: GraphBuilder, c: number, k: number, depthwise: boolean): Value {
  const kk = k * k;
  const cin = depthwise ? 1 : c;
  const data = new Float32Array(c * kk * cin * kk);
  for (let ch = 0; ch < c; ch++) for (let t = 0; t < kk; t++) data[(ch * kk + t) * cin * kk + (depthwise ? 0 : ch) * kk + t] = 1;
  return g.constant(constTensor('float32', [c * kk, cin, k, k], data));
}

/** [N, C*kk, P] im2col columns times dy, summed over the batch: dW from NCHW columns. */
function bmmReduce(cols: Value, dy: Value, l: Layer): Value {
  const [n, ck] = [cols.shape[0]!, cols.shape[1]!];
  const p = dy.shape[2]! * dy.shape[3]!;
  const dyT = transpose(reshape(dy, [n, l.o, p]), [0, 2, 1]);
  const prod = matmul(reshape(cols, [n, ck, p]), dyT); // [N, CKK, O]
  return reshape(transpose(reduceSum(prod, [0], false), [1, 0]), [l.o, l.c, l.k, l.k]);
}

const flipKernel = (w: Value) => slice(transpose(w, [1, 0, 2, 3]), { starts: [-1, -1], ends: [-(2 ** 53), -(2 ** 53)], axes: [2, 3], steps: [-1, -1] });

// ---------------------------------------------------------------------------------------------------------------
// Candidates.

interface Candidate {
  name: string;
  what: 'fwd' | 'dW' | 'dX';
  applies?: (l: Layer) => boolean;
  build: (x: Value, dy: Value, w: Value, l: Layer) => Value;
}

const CANDIDATES: Candidate[] = [
  { name: 'forward Conv', what: 'fwd', build: (x, _dy, w, l) => conv(x, w, null, convAttrs(l)) },

  {
    name: 'a im2col channel-major + Gemm (old)',
    what: 'dW',
    build(x, dy, _w, l) {
      const oh = outSize(l);
      const n = l.n;
      const views = shiftedViews(transpose(x, [1, 0, 2, 3]), l, oh).map((v) => (l.k === 1 ? v : unsqueeze(v, [1])));
      const cols = l.k === 1 ? reshape(views[0]!, [l.c, n * oh * oh]) : reshape(concat(views, 1), [l.c * l.k * l.k, n * oh * oh]);
      const dyc = reshape(transpose(dy, [1, 0, 2, 3]), [l.o, n * oh * oh]);
      return reshape(gemm(dyc, cols, null, { transB: 1 }), [l.o, l.c, l.k, l.k]);
    },
  },
  {
    name: 'b Conv over batch-transposed',
    what: 'dW',
    build(x, dy, _w, l) {
      const r = conv(transpose(x, [1, 0, 2, 3]), transpose(dy, [1, 0, 2, 3]), null, { pads: [l.p, l.p, l.p, l.p], dilations: [l.s, l.s] });
      const cropped = r.shape[2] === l.k ? r : slice(r, { starts: [0, 0], ends: [l.k, l.k], axes: [2, 3] });
      return transpose(cropped, [1, 0, 2, 3]);
    },
  },
  {
    name: 'c per-offset channel-major Gemm',
    what: 'dW',
    build(x, dy, _w, l) {
      const oh = outSize(l);
      const lanes = l.n * oh * oh;
      const dyc = reshape(transpose(dy, [1, 0, 2, 3]), [l.o, lanes]);
      const parts = shiftedViews(transpose(x, [1, 0, 2, 3]), l, oh).map((v) => unsqueeze(gemm(dyc, reshape(v, [l.c, lanes]), null, { transB: 1 }), [2]));
      return reshape(parts.length === 1 ? parts[0]! : concat(parts, 2), [l.o, l.c, l.k, l.k]);
    },
  },
  {
    name: 'c2 per-offset batched MatMul + ReduceSum',
    what: 'dW',
    build(x, dy, _w, l) {
      const oh = outSize(l);
      const p = oh * oh;
      const dyT = transpose(reshape(dy, [l.n, l.o, p]), [0, 2, 1]);
      const parts = shiftedViews(x, l, oh).map((v) => unsqueeze(reduceSum(matmul(reshape(v, [l.n, l.c, p]), dyT), [0], false), [2]));
      return transpose(reshape(parts.length === 1 ? parts[0]! : concat(parts, 2), [l.c, l.o, l.k, l.k]), [1, 0, 2, 3]);
    },
  },
  {
    name: 'd im2col NCHW (Slices) + batched MatMul',
    what: 'dW',
    build(x, dy, _w, l) {
      const oh = outSize(l);
      const views = shiftedViews(x, l, oh);
      const cols =
        views.length === 1
          ? views[0]!
          : concat(
              views.map((v) => unsqueeze(v, [2])),
              2,
            );
      return bmmReduce(reshape(cols, [l.n, l.c * l.k * l.k, oh * oh]), dy, l);
    },
  },
  {
    name: 'e1 im2col by one-hot Conv + batched MatMul',
    what: 'dW',
    applies: (l) => l.k > 1,
    build: (x, dy, _w, l) => bmmReduce(conv(x, oneHotKernel(x.graph, l.c, l.k, false), null, convAttrs(l)), dy, l),
  },
  {
    name: 'e2 im2col by depthwise one-hot Conv + batched MatMul',
    what: 'dW',
    applies: (l) => l.k > 1,
    build: (x, dy, _w, l) => bmmReduce(conv(x, oneHotKernel(x.graph, l.c, l.k, true), null, { ...convAttrs(l), group: l.c }), dy, l),
  },
  {
    name: 'e3 im2col by one-hot Conv, transposed, Gemm',
    what: 'dW',
    applies: (l) => l.k > 1,
    build(x, dy, _w, l) {
      const oh = outSize(l);
      const cols = conv(x, oneHotKernel(x.graph, l.c, l.k, false), null, convAttrs(l));
      const colsC = reshape(transpose(cols, [1, 0, 2, 3]), [l.c * l.k * l.k, l.n * oh * oh]);
      const dyc = reshape(transpose(dy, [1, 0, 2, 3]), [l.o, l.n * oh * oh]);
      return reshape(gemm(dyc, colsC, null, { transB: 1 }), [l.o, l.c, l.k, l.k]);
    },
  },
  {
    name: 'e4 im2col by one-hot Conv + Einsum',
    what: 'dW',
    applies: (l) => l.k > 1,
    build(x, dy, _w, l) {
      const oh = outSize(l);
      const cols = reshape(conv(x, oneHotKernel(x.graph, l.c, l.k, false), null, convAttrs(l)), [l.n, l.c * l.k * l.k, oh * oh]);
      return reshape(einsum('nkp,nop->ok', cols, reshape(dy, [l.n, l.o, oh * oh])), [l.o, l.c, l.k, l.k]);
    },
  },
  {
    name: 'e5 e1 in 4 batch chunks',
    what: 'dW',
    applies: (l) => l.k > 1 && l.n % 4 === 0,
    build(x, dy, _w, l) {
      const q = l.n / 4;
      const oneHot = oneHotKernel(x.graph, l.c, l.k, false);
      let sum: Value | null = null;
      for (let b = 0; b < 4; b++) {
        const xs = slice(x, { starts: [b * q], ends: [(b + 1) * q], axes: [0] });
        const dys = slice(dy, { starts: [b * q], ends: [(b + 1) * q], axes: [0] });
        const part = bmmReduce(conv(xs, oneHot, null, convAttrs(l)), dys, { ...l, n: q });
        sum = sum ? add(sum, part) : part;
      }
      return sum!;
    },
  },
  ...[4, 8, 16].map(
    (q): Candidate => ({
      name: `e6 e2 in chunks of ${q} images`,
      what: 'dW',
      applies: (l) => l.k > 1 && l.n % q === 0,
      build(x, dy, _w, l) {
        const chunks = l.n / q;
        const oneHot = oneHotKernel(x.graph, l.c, l.k, true);
        const parts: Value[] = [];
        for (let b = 0; b < chunks; b++) {
          const xs = slice(x, { starts: [b * q], ends: [(b + 1) * q], axes: [0] });
          const dys = slice(dy, { starts: [b * q], ends: [(b + 1) * q], axes: [0] });
          parts.push(unsqueeze(bmmReduce(conv(xs, oneHot, null, { ...convAttrs(l), group: l.c }), dys, { ...l, n: q }), [0]));
        }
        return reduceSum(concat(parts, 0), [0], false);
      },
    }),
  ),
  // Stride 1 without im2col's k*k copies: with each padded row flattened, shifting by (i, j) is an offset of i*row + j,
  // so k column shifts of x and k row shifts of dy (2k contiguous slices) give all k*k products in one MatMul.
  {
    name: 'f2 flat shifts k+k per image, batched MatMul',
    what: 'dW',
    applies: (l) => l.s === 1,
    build(x, dy, _w, l) {
      const oh = outSize(l);
      const { k, p } = l;
      const wb = l.h + p;
      const lm = (oh + k - 1) * wb;
      const xl = reshape(pad(x, [0, 0, p, p, 0, 0, p + 1, wb - l.h - p]), [l.n, l.c, (l.h + 2 * p + 1) * wb]);
      const dyl = reshape(pad(dy, [0, 0, k - 1, 0, 0, 0, k - 1, wb - oh]), [l.n, l.o, (oh + 2 * (k - 1)) * wb]);
      const xs: Value[] = [];
      const ds: Value[] = [];
      for (let j = 0; j < k; j++) xs.push(slice(xl, { starts: [j], ends: [j + lm], axes: [2] }));
      for (let i = 0; i < k; i++) ds.push(slice(dyl, { starts: [(k - 1 - i) * wb], ends: [(k - 1 - i) * wb + lm], axes: [2] }));
      const prod = reduceSum(matmul(concat(xs, 1), transpose(concat(ds, 1), [0, 2, 1])), [0], false); // [(j, c), (i, o)]
      return transpose(reshape(prod, [k, l.c, k, l.o]), [3, 1, 2, 0]);
    },
  },
  { name: 'ours (src/autodiff/grads/conv-grad.ts)', what: 'dW', build: (x, dy, w, l) => convWeightGrad(dy, x, w, convAttrs(l)) },

  {
    name: 'a Conv, flipped transposed kernel',
    what: 'dX',
    applies: (l) => l.s === 1,
    build: (_x, dy, w, l) => conv(dy, flipKernel(w), null, { pads: [l.k - 1 - l.p, l.k - 1 - l.p, l.k - 1 - l.p, l.k - 1 - l.p] }),
  },
  {
    name: 'b ConvTranspose',
    what: 'dX',
    build(_x, dy, w, l) {
      const oh = outSize(l);
      const op = l.h - ((oh - 1) * l.s + l.k - 2 * l.p);
      return convTranspose(dy, w, { strides: [l.s, l.s], pads: [l.p, l.p, l.p, l.p], output_padding: [op, op] });
    },
  },
  {
    name: 'c zero-dilated dy + Conv',
    what: 'dX',
    applies: (l) => l.s > 1,
    build(_x, dy, w, l) {
      const oh = outSize(l);
      const dil = reshape(pad(unsqueeze(dy, [3, 5]), [0, 0, 0, 0, 0, 0, 0, 0, 0, l.s - 1, 0, l.s - 1]), [l.n, l.o, oh * l.s, oh * l.s]);
      const b = l.k - 1 - l.p;
      const e = l.h + l.p - oh * l.s;
      if (b < 0 || e < 0) {
        return conv(pad(dil, [0, 0, b, b, 0, 0, e, e]), flipKernel(w));
      }
      return conv(dil, flipKernel(w), null, { pads: [b, b, e, e] });
    },
  },
  {
    name: 'd sub-pixel Conv + DepthToSpace',
    what: 'dX',
    applies: (l) => l.s > 1,
    build(_x, dy, w, l) {
      const s = l.s;
      const oh = outSize(l);
      const t = Math.ceil(l.k / s);
      const u = Math.ceil((l.h + l.p) / s);
      const z = s * t - l.k;
      const wz = z ? pad(w, [0, 0, 0, 0, 0, 0, z, z]) : w;
      const w6 = slice(reshape(wz, [l.o, l.c, t, s, t, s]), { starts: [-1, -1], ends: [-(2 ** 53), -(2 ** 53)], axes: [2, 4], steps: [-1, -1] });
      const wp = reshape(transpose(w6, [3, 5, 1, 0, 2, 4]), [s * s * l.c, l.o, t, t]);
      const e = Math.max(0, u - oh);
      const y = depthToSpace(conv(dy, wp, null, { pads: [t - 1, t - 1, e, e] }), s);
      return slice(y, { starts: [l.p, l.p], ends: [l.p + l.h, l.p + l.h], axes: [2, 3] });
    },
  },
  {
    name: 'e 1x1: Conv then zero-interleave',
    what: 'dX',
    applies: (l) => l.k === 1 && l.s > 1,
    build(_x, dy, w, l) {
      const oh = outSize(l);
      const y = conv(dy, transpose(w, [1, 0, 2, 3]));
      const inter = reshape(pad(unsqueeze(y, [3, 5]), [0, 0, 0, 0, 0, 0, 0, 0, 0, l.s - 1, 0, l.s - 1]), [l.n, l.c, oh * l.s, oh * l.s]);
      const e = l.h - oh * l.s;
      return e === 0 ? inter : pad(inter, [0, 0, 0, 0, 0, 0, e, e]);
    },
  },
  { name: 'ours (src/autodiff/grads/conv-grad.ts)', what: 'dX', applies: (l) => l.dx, build: (x, dy, w, l) => convInputGrad(dy, x, w, convAttrs(l)) },
];

// ---------------------------------------------------------------------------------------------------------------
// Timing.

interface Args {
  threads: number;
  reps: number;
  warmup: number;
  batch: number;
  json: boolean;
  only: string[];
  skip: string[];
  spin: boolean;
  profile: boolean;
}

function parseConvGradArgs(): Args {
  const { values: v } = parseToolArgs(import.meta.url, {
    threads: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    batch: { type: 'string' },
    json: { type: 'boolean', default: false },
    spin: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    // One substring each (repeat the flag for more), matched against layer labels and candidate names.
    only: { type: 'string', multiple: true, default: [] },
    skip: { type: 'string', multiple: true, default: [] },
  });
  return {
    threads: integerArg(v.threads, '--threads', 2, 1),
    reps: integerArg(v.reps, '--reps', 21, 1),
    warmup: integerArg(v.warmup, '--warmup', 3),
    batch: integerArg(v.batch, '--batch', 128, 1),
    json: v.json,
    spin: v.spin,
    profile: v.profile,
    only: v.only,
    skip: v.skip,
  };
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

interface Row {
  layer: string;
  model: string;
  what: Candidate['what'];
  candidate: string;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  /** Process CPU time (user + system, all threads) per run: unlike wall time, not inflated by other work on the cores. */
  cpuMs: number;
  maxRelErr: number;
}

const candidatesFor = (l: Layer, args: Args) =>
  CANDIDATES.filter((c) => (c.applies?.(l) ?? true) && (c.what !== 'dX' || l.dx) && !args.skip.some((s) => c.name.includes(s)));

const inputShapes = (l: Layer) => ({ x: [l.n, l.c, l.h, l.h], dy: [l.n, l.o, outSize(l), outSize(l)], w: [l.o, l.c, l.k, l.k] });

/** The candidate's graph for layer `l`, as ONNX bytes with inputs x, dy, w and output out. */
function candidateModel(c: Candidate, l: Layer): Uint8Array {
  const shapes = inputShapes(l);
  const g = new GraphBuilder('bench');
  const x = g.input('x', 'float32', shapes.x);
  const dy = g.input('dy', 'float32', shapes.dy);
  const w = g.input('w', 'float32', shapes.w);
  g.output(c.build(x, dy, w, l), 'out');
  return encodeModel(g.toModel());
}

function inputFeeds(ort: Backend['ort'], l: Layer): Record<string, InstanceType<Backend['ort']['Tensor']>> {
  const shapes = inputShapes(l);
  const size = (s: number[]) => s.reduce((a, d) => a * d, 1);
  return {
    x: new ort.Tensor('float32', seeded(size(shapes.x), 1), shapes.x),
    dy: new ort.Tensor('float32', seeded(size(shapes.dy), 2), shapes.dy),
    w: new ort.Tensor('float32', seeded(size(shapes.w), 3), shapes.w),
  };
}

async function benchLayer(l: Layer, args: Args): Promise<Row[]> {
  const extra = args.spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } };
  const runs = await Promise.all(
    candidatesFor(l, args).map(async (c) => {
      const backend = await createBackend(candidateModel(c, l), { threads: args.threads, extra });
      return { c, backend, times: [] as number[], cpu: [] as number[], out: null as Float32Array | null };
    }),
  );
  const feeds = inputFeeds(runs[0]!.backend.ort, l);
  const runOnce = async (r: (typeof runs)[number], record: boolean) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await r.backend.session.run(feeds);
    const ms = performance.now() - t0;
    const c1 = process.cpuUsage(c0);
    r.out = res['out']!.data as Float32Array;
    if (record) {
      r.times.push(ms);
      r.cpu.push((c1.user + c1.system) / 1000);
    }
  };
  for (let i = 0; i < args.warmup; i++) for (const r of runs) await runOnce(r, false);
  for (let i = 0; i < args.reps; i++) {
    // Rotate the starting candidate so none always runs right after the same neighbour.
    for (let j = 0; j < runs.length; j++) await runOnce(runs[(i + j) % runs.length]!, true);
  }
  const reference = (what: Candidate['what']) => runs.find((r) => r.c.what === what)?.out;
  const rows = runs.map((r) => {
    const ref = reference(r.c.what)!;
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(ref[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - r.out![i]!));
    }
    if (r.out!.length !== ref.length) maxDiff = Infinity;
    return {
      layer: label(l),
      model: l.model,
      what: r.c.what,
      candidate: r.c.name,
      medianMs: median(r.times),
      p10Ms: quantile(r.times, 0.1),
      p90Ms: quantile(r.times, 0.9),
      cpuMs: median(r.cpu),
      maxRelErr: maxDiff / Math.max(maxAbs, 1e-30),
    };
  });
  await Promise.all(runs.map((r) => r.backend.session.release()));
  return rows;
}

/** Per-op-type time of one candidate from onnxruntime's profiler (5 runs after warm-up), as "Op 1.2 ms" pairs. */
async function profileCandidate(c: Candidate, l: Layer, args: Args): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'conv-grad-'));
  const { ort, session } = await createBackend(candidateModel(c, l), { threads: args.threads, enableProfiling: true, profilePrefix: join(dir, 'p') });
  const feeds = inputFeeds(ort, l);
  const runs = 5;
  for (let i = 0; i < 2 + runs; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  rmSync(dir, { recursive: true, force: true });
  const byOp = new Map<string, number>();
  // The first two runs are warm-up: keep the last `runs` runs' node events.
  const nodeEvents = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const perRun = nodeEvents.length / (2 + runs);
  for (const e of nodeEvents.slice(nodeEvents.length - perRun * runs)) {
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur / 1000 / runs);
  }
  return [...byOp]
    .sort((a, b) => b[1] - a[1])
    .map(([op, ms]) => `${op} ${ms.toFixed(1)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const args = parseConvGradArgs();
  const layers = LAYERS.map((l) => ({ ...l, n: args.batch })).filter((l) => !args.only.length || args.only.some((o) => `${l.model} ${label(l)}`.includes(o)));
  const all: Row[] = [];
  for (const l of layers) {
    if (args.profile) {
      console.log(`\n${l.model} ${label(l)}  batch ${l.n}, ${args.threads} threads: ms per op type (onnxruntime profiler, mean of 5 runs)`);
      for (const c of candidatesFor(l, args)) {
        console.log(`  ${c.what.padEnd(3)} ${c.name.padEnd(52)} ${await profileCandidate(c, l, args)}`);
      }
      continue;
    }
    const rows = await benchLayer(l, args);
    all.push(...rows);
    // With --json the table goes to stderr, so progress stays visible and stdout stays parseable.
    const print = args.json ? console.error : console.log;
    print(`\n${l.model} ${label(l)}  batch ${l.n}, ${args.threads} threads: wall ms median of ${args.reps} [p10 .. p90], CPU ms median`);
    for (const r of rows) {
      const bad = r.maxRelErr > 1e-4 ? `  MISMATCH rel err ${r.maxRelErr.toExponential(1)}` : '';
      print(
        `  ${r.what.padEnd(3)} ${r.candidate.padEnd(52)} ${r.medianMs.toFixed(1).padStart(7)}  ${`[${r.p10Ms.toFixed(1)} .. ${r.p90Ms.toFixed(1)}]`.padEnd(16)} cpu ${r.cpuMs.toFixed(1).padStart(6)}${bad}`,
      );
    }
  }
  if (args.json) console.log(JSON.stringify({ threads: args.threads, batch: args.batch, reps: args.reps, spin: args.spin, rows: all }, null, 2));
}

await main();
