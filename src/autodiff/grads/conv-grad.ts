import type { Value } from '../../graph/builder.js';
import { concat } from '../../graph/ops/concat.js';
import { conv, type ConvAttrs } from '../../graph/ops/conv.js';
import { convTranspose } from '../../graph/ops/conv-transpose.js';
import { gemm } from '../../graph/ops/gemm.js';
import { pad } from '../../graph/ops/pad.js';
import { reduceSum } from '../../graph/ops/reduce-sum.js';
import { reshape } from '../../graph/ops/reshape.js';
import { slice } from '../../graph/ops/slice.js';
import { transpose } from '../../graph/ops/transpose.js';
import { unsqueeze } from '../../graph/ops/unsqueeze.js';
import type { GradRule } from '../rule.js';
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

/**
 * dX. Stride 1: a plain Conv of dy with the spatially flipped, in/out-transposed kernel (measured about 2x faster
 * than ConvTranspose in onnxruntime's CPU build). Larger strides: ConvTranspose, which handles the zero insertion.
 */
function inputGrad(dy: Value, x: Value, w: Value, geo: ConvGeometry): Value {
  const [kh, kw] = geo.kernel;
  const [pt, pl, pb, pr] = geo.pads;
  if (geo.stride[0] === 1 && geo.stride[1] === 1) {
    const flipped = slice(transpose(w, [1, 0, 2, 3]), { starts: [-1, -1], ends: [-(2 ** 53), -(2 ** 53)], axes: [2, 3], steps: [-1, -1] });
    const pads = [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr];
    if (pads.every((p) => p >= 0)) return conv(dy, flipped, null, { pads });
  }
  const [oh, ow] = [dy.shape[2]!, dy.shape[3]!];
  const outputPadding = [
    x.shape[2]! - ((oh - 1) * geo.stride[0] + kh - pt - pb),
    x.shape[3]! - ((ow - 1) * geo.stride[1] + kw - pl - pr),
  ];
  return convTranspose(dy, w, { strides: geo.stride, pads: geo.pads, output_padding: outputPadding });
}

/**
 * dW by im2col: the kh*kw shifted (strided) views of the padded input, laid out as [C*kh*kw, N*OH*OW], times dy as
 * [O, N*OH*OW], in one Gemm. Working in channel-major layout ([C, N, H, W]) makes both operands plain reshapes.
 */
function weightGrad(dy: Value, x: Value, w: Value, geo: ConvGeometry): Value {
  const [o, c, kh, kw] = w.shape as [number, number, number, number];
  const [n, , oh, ow] = dy.shape as [number, number, number, number];
  const [sh, sw] = geo.stride;
  const [pt, pl, pb, pr] = geo.pads;
  const xc = transpose(x, [1, 0, 2, 3]);
  const padded = pt || pl || pb || pr ? pad(xc, [0, 0, pt, pl, 0, 0, pb, pr]) : xc;
  const views: Value[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const view = slice(padded, { starts: [i, j], ends: [i + sh * (oh - 1) + 1, j + sw * (ow - 1) + 1], axes: [2, 3], steps: [sh, sw] });
      views.push(views.length === 0 && kh * kw === 1 ? view : unsqueeze(view, [1]));
    }
  }
  const cols = kh * kw === 1 ? reshape(views[0]!, [c, n * oh * ow]) : reshape(concat(views, 1), [c * kh * kw, n * oh * ow]);
  const dyc = reshape(transpose(dy, [1, 0, 2, 3]), [o, n * oh * ow]);
  return reshape(gemm(dyc, cols, null, { transB: 1 }), [o, c, kh, kw]);
}

export function convInputGrad(dy: Value, x: Value, w: Value, attrs: ConvAttrs): Value {
  return inputGrad(dy, x, w, geometry(attrs, w));
}
export function convWeightGrad(dy: Value, x: Value, w: Value, attrs: ConvAttrs): Value {
  return weightGrad(dy, x, w, geometry(attrs, w));
}

export const convGrad: GradRule = {
  opType: 'Conv',
  gradFn(node, dys, needs) {
    const [x, w, bias] = node.inputs;
    const dy = outputGrad(node, dys);
    const geo = geometry(node.attrs as ConvAttrs, w!);
    return [
      needs[0] ? inputGrad(dy, x!, w!, geo) : null,
      needs[1] ? weightGrad(dy, x!, w!, geo) : null,
      bias && needs[2] ? reduceSum(dy, [0, 2, 3], false) : null,
    ];
  },
};
