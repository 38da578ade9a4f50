/**
 * Folds inference BatchNormalization into the Conv before it, on a serialisable model:
 * y = gamma * (conv(x, W) + b - mean) / sqrt(var + eps) + beta  ==  conv(x, W * s) + (b - mean) * s + beta,
 * s = gamma / sqrt(var + eps) per output channel. The arithmetic runs in float64 and is rounded once to float32.
 */
import { makeTensorProto, tensorData, type ModelProto, type NodeProto, type TensorProto } from '../graph/onnx-proto.js';

function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.f ?? fallback;
}

/**
 * Rewrites every Conv -> BatchNormalization pair whose weights and statistics are initializers and whose Conv
 * output feeds nothing else; returns how many pairs were folded. Unused initializers are dropped afterwards.
 * @example const folded = foldBatchNorm(model); // model now has no BatchNormalization after convolutions
 */
export function foldBatchNorm(model: ModelProto): number {
  const g = model.graph;
  const inits = new Map<string, TensorProto>(g.initializer.map((t) => [t.name!, t]));
  const consumers = new Map<string, number>();
  for (const n of g.node) for (const i of n.input) if (i) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  for (const o of g.output) consumers.set(o.name, (consumers.get(o.name) ?? 0) + 1);
  const producer = new Map<string, NodeProto>();
  for (const n of g.node) for (const o of n.output) producer.set(o, n);

  const removed = new Set<NodeProto>();
  let folded = 0;
  for (const bn of g.node) {
    if (bn.op_type !== 'BatchNormalization' || bn.output.length !== 1) continue;
    const conv = producer.get(bn.input[0]!);
    if (conv?.op_type !== 'Conv' || consumers.get(conv.output[0]!) !== 1) continue;
    const [, scaleName, biasName, meanName, varName] = bn.input;
    const params = [conv.input[1], scaleName, biasName, meanName, varName].map((n) => (n ? inits.get(n) : undefined));
    if (params.some((p) => !p)) continue;
    if (conv.input[2] && !inits.has(conv.input[2])) continue;
    const [wT, gammaT, betaT, meanT, varT] = params as TensorProto[];
    const w = tensorData(wT!) as Float32Array;
    const [gamma, beta, mean, variance] = [gammaT!, betaT!, meanT!, varT!].map((t) => tensorData(t) as Float32Array);
    const oldBias = conv.input[2] ? (tensorData(inits.get(conv.input[2])!) as Float32Array) : null;
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const out = gamma!.length;
    const per = w.length / out;
    const newW = new Float32Array(w.length);
    const newB = new Float32Array(out);
    for (let c = 0; c < out; c++) {
      const s = gamma![c]! / Math.sqrt(variance![c]! + eps);
      for (let k = 0; k < per; k++) newW[c * per + k] = w[c * per + k]! * s;
      newB[c] = ((oldBias?.[c] ?? 0) - mean![c]!) * s + beta![c]!;
    }
    // The folded weight keeps the conv's weight name unless another node shares that weight.
    const wName = (consumers.get(wT!.name!) ?? 0) > 1 ? `${wT!.name}.folded` : wT!.name!;
    const bName = wName.endsWith('.weight') ? `${wName.slice(0, -'.weight'.length)}.bias` : `${wName}.bias`;
    const dims = (wT!.dims ?? []).map(Number);
    inits.set(wName, makeTensorProto(wName, 'float32', dims, newW));
    inits.set(bName, makeTensorProto(bName, 'float32', [out], newB));
    conv.input = [conv.input[0]!, wName, bName];
    conv.output = [bn.output[0]!];
    conv.doc_string = 'Conv with its BatchNormalization folded into weight and bias';
    removed.add(bn);
    folded++;
  }
  g.node = g.node.filter((n) => !removed.has(n));
  const used = new Set<string>();
  for (const n of g.node) for (const i of n.input) if (i) used.add(i);
  for (const o of g.output) used.add(o.name);
  g.initializer = [...inits.values()].filter((t) => used.has(t.name!));
  return folded;
}
