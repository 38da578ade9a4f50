import type { OpDef, Value } from '../builder.js';
import { dtypeToCode, codeToDtype, type DType } from '../onnx-proto.js';

export interface CastAttrs {
  to: number;
}

export const CastOp: OpDef<CastAttrs> = {
  opType: 'Cast',
  attrKinds: { to: 'int' },
  infer([x], attrs) {
    return [{ dtype: codeToDtype(attrs.to), shape: x!.shape }];
  },
};

/**
 * Converts element type.
 * @example const f = cast(mask, 'float32');
 */
export function cast(x: Value, to: DType): Value {
  return x.graph.apply(CastOp, [x], { to: dtypeToCode(to) })[0]!;
}
