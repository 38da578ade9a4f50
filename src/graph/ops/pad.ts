import type { OpDef, Value } from '../builder.js';

export interface PadAttrs {
  mode?: string;
}

export const PadOp: OpDef<PadAttrs> = {
  opType: 'Pad',
  attrKinds: { mode: 'string' },
  infer([x], _attrs, [, padsC]) {
    if (!padsC) throw new Error('Pad needs constant pads');
    const pads = Array.from(padsC.data as BigInt64Array, Number);
    const rank = x!.shape.length;
    if (pads.length !== 2 * rank) throw new Error(`Pad: ${pads.length} pads for rank ${rank}`);
    return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => d + pads[i]! + pads[i + rank]!) }];
  },
};

/**
 * Zero padding; `pads` lists all begins then all ends (ONNX order). Negative pads crop.
 * @example const padded = pad(x, [0, 0, 1, 1, 0, 0, 1, 1]);
 */
export function pad(x: Value, pads: readonly number[]): Value {
  return x.graph.apply(PadOp, [x, x.graph.constI64(pads)], { mode: 'constant' })[0]!;
}
