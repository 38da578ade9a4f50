/** Classifier heads: cosine (learnable scale) and linear. */
import type { Value } from '../graph/builder.js';
import { gemm, mul } from '../graph/ops/index.js';
import { cosineSimilarity } from './functional.js';
import type { ParamSource } from './params.js';

/** Initial value of the cosine classifier's learnable scale (eta). */
export const COSINE_SCALE_INIT = 10;

export type HeadKind = 'cosine' | 'linear';

/**
 * Cosine classifier: eta * <norm f, norm w_c>; weight rows start uniform in +-1/sqrt(D).
 * @example const logits = cosineHead(params, 'fc', features, 100);
 */
export function cosineHead(p: ParamSource, name: string, features: Value, classes: number): Value {
  const d = features.shape[1]!;
  const w = p.param(`${name}.weight`, [classes, d], { kind: 'uniform', bound: 1 / Math.sqrt(d) });
  const scale = p.param(`${name}.sigma`, [1], { kind: 'constant', value: COSINE_SCALE_INIT });
  return p.graph.scope(name, () => mul(cosineSimilarity(features, w), scale));
}

/**
 * Linear classifier W f + b (PyTorch Linear initialisation bounds).
 * @example const logits = linearHead(params, 'fc', features, 10);
 */
export function linearHead(p: ParamSource, name: string, features: Value, classes: number): Value {
  const d = features.shape[1]!;
  const bound = 1 / Math.sqrt(d);
  const w = p.param(`${name}.weight`, [classes, d], { kind: 'uniform', bound });
  const b = p.param(`${name}.bias`, [classes], { kind: 'uniform', bound });
  return p.graph.scope(name, () => gemm(features, w, b, { transB: 1 }));
}

/** Heads by name, as a frozen registry. */
export const HEADS: Readonly<Record<HeadKind, (p: ParamSource, name: string, f: Value, classes: number) => Value>> = Object.freeze({
  cosine: cosineHead,
  linear: linearHead,
});
