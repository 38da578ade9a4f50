import { pad } from '../../graph/ops/pad.js';
import type { PadAttrs } from '../../graph/ops/pad.js';
import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

/** Constant padding's adjoint is padding with the negated amounts (negative pads crop). */
export const padGrad: GradRule = {
  opType: 'Pad',
  gradFn(node, dys) {
    const [x, padsV] = node.inputs;
    const mode = (node.attrs as PadAttrs).mode ?? 'constant';
    if (mode !== 'constant') throw new Error(`${node.name}: Pad gradient supports constant mode, got ${mode}`);
    const pads = Array.from(x!.graph.literalOf(padsV!)!.data as BigInt64Array, Number);
    return [
      pad(
        outputGrad(node, dys),
        pads.map((p) => -p),
      ),
      null,
      null,
    ];
  },
};
