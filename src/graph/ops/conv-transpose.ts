import type { OpDef, Value } from '../builder.js';

export interface ConvTransposeAttrs {
  strides?: readonly number[];
  pads?: readonly number[];
  output_padding?: readonly number[];
  group?: number;
}

export const ConvTransposeOp: OpDef<ConvTransposeAttrs> = {
  opType: 'ConvTranspose',
  attrKinds: { strides: 'ints', pads: 'ints', output_padding: 'ints', group: 'int' },
  infer([x, w], attrs) {
    if (!x || !w || x.shape.length !== 4 || w.shape.length !== 4) throw new Error('ConvTranspose supports rank-4 X and W');
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [cw, mg, kh, kw] = w.shape as [number, number, number, number];
    if (cw !== c) throw new Error(`ConvTranspose: W expects ${cw} input channels, X has ${c}`);
    const s = attrs.strides ?? [1, 1];
    const p = attrs.pads ?? [0, 0, 0, 0];
    const op = attrs.output_padding ?? [0, 0];
    if (s.length !== 2 || p.length !== 4 || op.length !== 2) {
      throw new Error(`ConvTranspose: 2-D needs 2 strides, 4 pads and 2 output paddings, got ${s.length}, ${p.length} and ${op.length}`);
    }
    const oh = s[0]! * (h - 1) + op[0]! + kh - p[0]! - p[2]!;
    const ow = s[1]! * (wd - 1) + op[1]! + kw - p[1]! - p[3]!;
    return [{ dtype: x.dtype, shape: [n, mg * (attrs.group ?? 1), oh, ow] }];
  },
};

/**
 * 2-D transposed convolution (the adjoint of Conv), NCHW.
 * @example const y = convTranspose(dy, w, { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] });
 */
export function convTranspose(x: Value, w: Value, attrs: ConvTransposeAttrs = {}): Value {
  return x.graph.apply(ConvTransposeOp, [x, w], attrs)[0]!;
}
