import type { OpDef, Value } from '../builder.js';

export interface ConvAttrs {
  strides?: readonly number[];
  pads?: readonly number[];
  dilations?: readonly number[];
  group?: number;
}

/** Output spatial size of a convolution along one axis. */
export function convOutSize(inSize: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation = 1): number {
  return Math.floor((inSize + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

export const ConvOp: OpDef<ConvAttrs> = {
  opType: 'Conv',
  attrKinds: { strides: 'ints', pads: 'ints', dilations: 'ints', group: 'int' },
  infer([x, w, bias], attrs) {
    if (!x || !w) throw new Error('Conv needs X and W');
    if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error('Conv supports 2-D convolution (rank-4 X and W)');
    const group = attrs.group ?? 1;
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [m, cg, kh, kw] = w.shape as [number, number, number, number];
    if (c >= 0 && cg * group !== c) throw new Error(`Conv: W expects ${cg * group} input channels, X has ${c}`);
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== m)) throw new Error(`Conv: bias must have shape [${m}]`);
    const s = attrs.strides ?? [1, 1];
    const p = attrs.pads ?? [0, 0, 0, 0];
    const d = attrs.dilations ?? [1, 1];
    if (s.length !== 2 || p.length !== 4 || d.length !== 2) {
      throw new Error(`Conv: 2-D convolution needs 2 strides, 4 pads and 2 dilations, got ${s.length}, ${p.length} and ${d.length}`);
    }
    const oh = h < 0 ? -1 : convOutSize(h, kh, s[0]!, p[0]!, p[2]!, d[0]);
    const ow = wd < 0 ? -1 : convOutSize(wd, kw, s[1]!, p[1]!, p[3]!, d[1]);
    if (oh === 0 || ow === 0 || oh < -1 || ow < -1) throw new Error('Conv: output would be empty');
    return [{ dtype: x.dtype, shape: [n, m, oh, ow] }];
  },
};

/**
 * 2-D convolution, NCHW; `pads` is [top, left, bottom, right].
 * @example const y = conv(x, w, null, { strides: [2, 2], pads: [1, 1, 1, 1] });
 */
export function conv(x: Value, w: Value, bias: Value | null = null, attrs: ConvAttrs = {}): Value {
  return x.graph.apply(ConvOp, [x, w, bias], attrs)[0]!;
}
