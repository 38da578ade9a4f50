/**
 * Reverse-mode automatic differentiation over a GraphBuilder's nodes. Gradient nodes are emitted into the same
 * graph as standard ONNX ops, so one graph holds forward, backward and the optimiser update.
 */
import { shapeToString, type GraphNode, type Value } from '../graph/builder.js';
import { add } from '../graph/ops/add.js';
import { sameShape } from '../graph/shape.js';
import { GRAD_RULES } from './grads/index.js';
import type { GradContext, GradRule, GradTarget } from './rule.js';

export interface GradientOptions {
  /** Gradient of `loss` itself; default: 1 (loss must then be a scalar or a single element). */
  seed?: Value;
  /** Device the graph is built for (default cpu); selects the fastest exact formulation of some rules. */
  target?: GradTarget;
  /** Rules by op type (default: GRAD_RULES); a table of your own adds rules for custom ops or swaps one under test. */
  rules?: ReadonlyMap<string, GradRule>;
}

/**
 * d(loss)/d(wrt[i]) for each i, as new values in the loss's graph.
 * Throws when an op on the path has no gradient rule or a rule returns a wrongly shaped gradient.
 * @example const [dw, db] = gradients(loss, [w, b]);
 */
export function gradients(loss: Value, wrt: readonly Value[], opts: GradientOptions = {}): Value[] {
  const g = loss.graph;
  if (!opts.seed && loss.size !== 1) throw new Error(`gradients: loss ${loss} is not a scalar; pass a seed gradient`);
  if (loss.dtype !== 'float32' && loss.dtype !== 'float64') throw new Error('gradients: loss must be floating point');

  // Nodes that depend on some wrt value (forward reach) ...
  const wrtSet = new Set(wrt.map((v) => v.name));
  const dependsOnWrt = new Set<string>(wrtSet);
  const forward = new Set<GraphNode>();
  for (const node of g.nodes) {
    if (node.inputs.some((i) => i && dependsOnWrt.has(i.name))) {
      forward.add(node);
      for (const o of node.outputs) dependsOnWrt.add(o.name);
    }
  }
  // ... and that the loss depends on (backward reach).
  const onPath = new Set<GraphNode>();
  const stack: Value[] = [loss];
  const seen = new Set<string>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    const n = v.producer;
    if (!n || !forward.has(n)) continue;
    onPath.add(n);
    for (const i of n.inputs) if (i) stack.push(i);
  }

  const grads = new Map<string, Value>();
  const accumulate = (v: Value, dv: Value) => {
    const prev = grads.get(v.name);
    grads.set(v.name, prev ? add(prev, dv) : dv);
  };
  grads.set(loss.name, opts.seed ?? g.constF32(1, loss.shape));

  const order = g.nodes.filter((n) => onPath.has(n));
  const ctx: GradContext = { target: opts.target ?? 'cpu' };
  const rules = opts.rules ?? GRAD_RULES;
  g.scope('grad', () => {
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k]!;
      const dys = node.outputs.map((o) => grads.get(o.name) ?? null);
      if (dys.every((d) => d === null)) continue;
      const rule = rules.get(node.op.opType);
      if (!rule) throw new Error(`no gradient rule for op ${node.op.opType} (node ${node.name})`);
      const needs = node.inputs.map((i) => !!i && dependsOnWrt.has(i.name) && (i.dtype === 'float32' || i.dtype === 'float64'));
      const dxs = rule.gradFn(node, dys, needs, ctx);
      node.inputs.forEach((input, j) => {
        const dx = dxs[j];
        if (!input || !needs[j] || !dx) return;
        if (!sameShape(dx.shape, input.shape)) {
          throw new Error(
            `gradient rule for ${node.op.opType} (node ${node.name}) returned shape ${shapeToString(dx.shape)} for input ${j} of shape ${shapeToString(input.shape)}`,
          );
        }
        accumulate(input, dx);
      });
    }
  });

  return wrt.map((v) => {
    const dv = grads.get(v.name);
    if (dv) return dv;
    // Unused parameters get an explicit zero gradient so optimisers treat every parameter alike.
    return g.constant({ dtype: 'float32', shape: v.shape, data: new Float32Array(v.size) });
  });
}
