/**
 * Conv gradients as standard ONNX ops, chosen by timing the candidates in tools/bench/conv-grad.ts on onnxruntime's
 * CPU build (2 threads, batch 128, resnet32 and convnet layers; the numbers below are its median CPU ms per call).
 */
import { constTensor, type Value } from '../../graph/builder.js';
import { concat } from '../../graph/ops/concat.js';
import { conv, type ConvAttrs } from '../../graph/ops/conv.js';
import { convTranspose } from '../../graph/ops/conv-transpose.js';
import { matmul } from '../../graph/ops/matmul.js';
import { pad } from '../../graph/ops/pad.js';
import { reduceSum } from '../../graph/ops/reduce-sum.js';
import { reshape } from '../../graph/ops/reshape.js';
import { slice } from '../../graph/ops/slice.js';
import { transpose } from '../../graph/ops/transpose.js';
import { unsqueeze } from '../../graph/ops/unsqueeze.js';
import type { GradRule, GradTarget } from '../rule.js';
import { outputGrad } from '../rule.js';

interface ConvGeometry {
  stride: [number, number];
  pads: [number, number, number, number];
  kernel: [number, number];
}

function geometry(a: ConvAttrs, w: Value): ConvGeometry {
  if ((a.group ?? 1) !== 1) throw new Error('Conv gradient supports group 1');
  if ((a.dilations ?? [1, 1]).some((d) => d !== 1)) throw new Error('Conv gradient supports dilation 1');
  const s = a.strides ?? [1, 1];
  const p = a.pads ?? [0, 0, 0, 0];
  return { stride: [s[0]!, s[1]!], pads: [p[0]!, p[1]!, p[2]!, p[3]!], kernel: [w.shape[2]!, w.shape[3]!] };
}

/** Images per im2col chunk for dW. */
const IM2COL_CHUNK = 8;
/** Largest output (OH*OW) for which stride-1 dW uses per-offset products instead of im2col. */
const PER_OFFSET_MAX_PIXELS = 64;

function inputGrad(dy: Value, x: Value, w: Value, geo: ConvGeometry): Value {
  const [kh, kw] = geo.kernel;
  const [pt, pl, pb, pr] = geo.pads;
  if (geo.stride[0] === 1 && geo.stride[1] === 1) {
    // why: a Conv with the flipped, transposed kernel beats ConvTranspose at stride 1 (16->16 32x32: 8.1 vs 10.6 ms, 64->64 14x14: 13.5 vs 15.6).
    const flipped = slice(transpose(w, [1, 0, 2, 3]), { starts: [-1, -1], ends: [-(2 ** 53), -(2 ** 53)], axes: [2, 3], steps: [-1, -1] });
    const pads = [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr];
    if (pads.every((p) => p >= 0)) return conv(dy, flipped, null, { pads });
  }
  // why: at stride 2 ConvTranspose costs about a forward Conv (16->32: 5.1 ms; zero-dilated dy + Conv 23.7, sub-pixel Conv + DepthToSpace 10.8).
  const [oh, ow] = [dy.shape[2]!, dy.shape[3]!];
  const outputPadding = [x.shape[2]! - ((oh - 1) * geo.stride[0] + kh - pt - pb), x.shape[3]! - ((ow - 1) * geo.stride[1] + kw - pl - pr)];
  return convTranspose(dy, w, { strides: geo.stride, pads: geo.pads, output_padding: outputPadding });
}

/**
 * dW = sum over images and output pixels of dy (x) input patches. Both forms below contract patches [N, rows, P] with
 * dy^T [N, P, O] per image in a batched MatMul (no channel-major transposes of x), then sum over the batch.
 */
function weightGrad(dy: Value, x: Value, w: Value, geo: ConvGeometry, target: GradTarget = 'cpu'): Value {
  const [kh, kw] = geo.kernel;
  // why: on a GPU every node is a kernel launch (the chunked CPU form made the resnet32 step graph 6,086 nodes, 46 ms
  // per step on an H200); one im2col Conv + one batched MatMul over the whole batch per layer keeps it to a few.
  if (target === 'gpu') return kh * kw === 1 ? perOffsetWeightGrad(dy, x, w, geo) : im2colWeightGrad(dy, x, w, geo, x.shape[0]!);
  const [oh, ow] = [dy.shape[2]!, dy.shape[3]!];
  const unitStride = geo.stride[0] === 1 && geo.stride[1] === 1;
  // why: a 1x1 kernel has a single view (16->32 s2: 1.1 ms vs 2.4 for the old channel-major im2col + Gemm); on small stride-1
  // maps the per-channel overhead of the im2col Conv dominates (64->64 8x8: 7.0 ms per-offset vs 8.9 im2col vs 7.9 old).
  if (kh * kw === 1 || (unitStride && oh * ow <= PER_OFFSET_MAX_PIXELS)) return perOffsetWeightGrad(dy, x, w, geo);
  return im2colWeightGrad(dy, x, w, geo);
}

/** dy as [N, P, O] for the MatMuls; a Transpose that feeds MatMul directly is folded into it by onnxruntime. */
const pixelsByChannel = (dy: Value) => transpose(reshape(dy, [dy.shape[0]!, dy.shape[1]!, -1]), [0, 2, 1]);

/** One MatMul per kernel offset against the (strided) shifted view of the padded input. */
function perOffsetWeightGrad(dy: Value, x: Value, w: Value, geo: ConvGeometry): Value {
  const [o, c, kh, kw] = w.shape as [number, number, number, number];
  const [n, , oh, ow] = dy.shape as [number, number, number, number];
  const dyT = pixelsByChannel(dy);
  const [sh, sw] = geo.stride;
  const [pt, pl, pb, pr] = geo.pads;
  const padded = pt || pl || pb || pr ? pad(x, [0, 0, pt, pl, 0, 0, pb, pr]) : x;
  const whole = oh === padded.shape[2] && ow === padded.shape[3]; // a 1x1 kernel at stride 1
  const parts: Value[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const ends = [i + sh * (oh - 1) + 1, j + sw * (ow - 1) + 1];
      const view = whole ? padded : slice(padded, { starts: [i, j], ends, axes: [2, 3], steps: [sh, sw] });
      parts.push(unsqueeze(reduceSum(matmul(reshape(view, [n, c, oh * ow]), dyT), [0], false), [2]));
    }
  }
  const stacked = parts.length === 1 ? parts[0]! : concat(parts, 2); // [C, O, kh*kw]
  return transpose(reshape(stacked, [c, o, kh, kw]), [1, 0, 2, 3]);
}

/**
 * im2col by a Conv with a fixed one-hot depthwise kernel (input channel ch, tap t -> output channel ch*kh*kw + t), which
 * writes the [N, C*kh*kw, OH, OW] patch matrix in one op, then the batched MatMul; done in chunks of images.
 */
function im2colWeightGrad(dy: Value, x: Value, w: Value, geo: ConvGeometry, chunk = IM2COL_CHUNK): Value {
  const [o, c, kh, kw] = w.shape as [number, number, number, number];
  const n = x.shape[0]!;
  const taps = kh * kw;
  const oneHot = new Float32Array(c * taps * taps);
  for (let ch = 0; ch < c; ch++) for (let t = 0; t < taps; t++) oneHot[(ch * taps + t) * taps + t] = 1;
  const kernel = x.graph.constant(constTensor('float32', [c * taps, 1, kh, kw], oneHot));
  const parts: Value[] = [];
  // why: chunks of 8 images keep a chunk's patch matrix in cache from Conv to MatMul (16->16 32x32: 11.5 ms vs 16.0 unchunked
  // vs 21.4 old; 16->32 s2: 5.7 vs 9.1 vs 12.0; 64->64 14x14: 19.7 vs 24.2 vs 23.7; 4 or 16 images per chunk were no better).
  for (let start = 0; start < n; start += chunk) {
    const q = Math.min(chunk, n - start);
    const batch = (v: Value) => (q === n ? v : slice(v, { starts: [start], ends: [start + q], axes: [0] }));
    const cols = conv(batch(x), kernel, null, { strides: geo.stride, pads: geo.pads, group: c });
    parts.push(reduceSum(matmul(reshape(cols, [q, c * taps, -1]), pixelsByChannel(batch(dy))), [0], true)); // [1, C*taps, O]
  }
  const sum = parts.length === 1 ? parts[0]! : reduceSum(concat(parts, 0), [0], true);
  return transpose(reshape(sum, [c, kh, kw, o]), [3, 0, 1, 2]);
}

/** dL/dX of `conv(x, w, bias, attrs)` given dL/dY (group 1, dilation 1). */
export function convInputGrad(dy: Value, x: Value, w: Value, attrs: ConvAttrs): Value {
  return inputGrad(dy, x, w, geometry(attrs, w));
}

/** dL/dW of `conv(x, w, bias, attrs)` given dL/dY (group 1, dilation 1). */
export function convWeightGrad(dy: Value, x: Value, w: Value, attrs: ConvAttrs, target: GradTarget = 'cpu'): Value {
  return weightGrad(dy, x, w, geometry(attrs, w), target);
}

export const convGrad: GradRule = {
  opType: 'Conv',
  gradFn(node, dys, needs, ctx) {
    const [x, w, bias] = node.inputs;
    const dy = outputGrad(node, dys);
    const geo = geometry(node.attrs as ConvAttrs, w!);
    return [
      needs[0] ? inputGrad(dy, x!, w!, geo) : null,
      needs[1] ? weightGrad(dy, x!, w!, geo, ctx.target) : null,
      bias && needs[2] ? reduceSum(dy, [0, 2, 3], false) : null,
    ];
  },
};
