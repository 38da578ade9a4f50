/**
 * Analytic multiply-accumulate counts from a GraphBuilder's nodes: Conv, ConvTranspose, Gemm and MatMul, the ops
 * that carry (almost) all of a CNN's arithmetic. Elementwise ops, reductions and BatchNorm are not counted, the usual
 * convention for "model FLOPs", so effective GFLOP/s compare across frameworks that fuse differently.
 */
import type { GraphNode, Value } from '../../src/graph/builder.js';

const product = (xs: readonly number[]) => xs.reduce((a, d) => a * d, 1);

/**
 * MACs of one node (0 for ops that are not counted).
 * @example nodeMacs(convNode); // out.size * (C/group) * kh * kw
 */
export function nodeMacs(node: GraphNode): number {
  const out = node.outputs[0];
  if (!out) return 0;
  switch (node.op.opType) {
    case 'Conv': {
      // W [O, C/group, kh, kw]: every output element is a dot product of length (C/group)*kh*kw.
      const w = node.inputs[1]!;
      return out.size * product(w.shape.slice(1));
    }
    case 'ConvTranspose': {
      // W [C, O/group, kh, kw]: every input element scatters into (O/group)*kh*kw outputs.
      const x = node.inputs[0]!;
      const w = node.inputs[1]!;
      return x.size * product(w.shape.slice(1));
    }
    case 'Gemm': {
      const a = node.inputs[0]!;
      const transA = (node.attrs as { transA?: number }).transA ?? 0;
      return out.size * (transA ? a.shape[0]! : a.shape[1]!);
    }
    case 'MatMul': {
      const a = node.inputs[0]!;
      return out.size * a.shape[a.shape.length - 1]!;
    }
    default:
      return 0;
  }
}

/** Nodes that `outputs` depend on (what toModel keeps), in graph order. */
function reachable(nodes: readonly GraphNode[], outputs: readonly Value[]): GraphNode[] {
  const needed = new Set<GraphNode>();
  const stack = outputs.map((v) => v.producer).filter((n): n is GraphNode => n !== null);
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    for (const v of n.inputs) if (v?.producer) stack.push(v.producer);
  }
  return nodes.filter((n) => needed.has(n));
}

export interface MacCount {
  total: number;
  byOp: Record<string, number>;
}

/**
 * MACs of the nodes that compute `outputs` (all nodes when omitted).
 * @example const { total } = countMacs(g.nodes, [logits]); const gflop = (2 * total) / 1e9;
 */
export function countMacs(nodes: readonly GraphNode[], outputs?: readonly Value[]): MacCount {
  const byOp: Record<string, number> = {};
  let total = 0;
  for (const n of outputs ? reachable(nodes, outputs) : nodes) {
    const m = nodeMacs(n);
    if (!m) continue;
    byOp[n.op.opType] = (byOp[n.op.opType] ?? 0) + m;
    total += m;
  }
  return { total, byOp };
}
