/** Classifier heads: cosine (learnable scale) and linear. */
import type { Value } from '../graph/builder.js';
import { flatten, gemm, globalAveragePool, mul, relu } from '../graph/ops/index.js';
import { cosineSimilarity } from './functional.js';
import { basicBlock } from './layers.js';
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

/**
 * Rotation-prediction head (SPB-I): the backbone's last feature map -> two residual BasicBlocks (same width,
 * stride 1) -> global average pool -> cosine classifier over `angles` rotation classes. The blocks join the
 * source's current group; the cosine classifier joins the `classifier` group, as the class heads do.
 * @example const angleLogits = rotationHead(params, 'ssl', featureMap, 4);
 */
export function rotationHead(p: ParamSource, name: string, featureMap: Value, angles: number): Value {
  const width = featureMap.shape[1]!;
  return p.graph.scope(name, () => {
    const group = p.group;
    const h = basicBlock(p, 'block2', basicBlock(p, 'block1', featureMap, width, 1, true), width, 1, true);
    p.group = 'classifier';
    try {
      return cosineHead(p, 'fc', flatten(globalAveragePool(h), 1), angles);
    } finally {
      p.group = group;
    }
  });
}

/**
 * Projection head of contrastive learning: linear (D -> hidden) -> ReLU -> linear (hidden -> out), in the source's
 * current group.
 * @example const z = projectionHead(params, 'ssl.proj', features, 128, 128);
 */
export function projectionHead(p: ParamSource, name: string, features: Value, hidden: number, out: number): Value {
  return p.graph.scope(name, () => linearHead(p, '1', relu(linearHead(p, '0', features, hidden)), out));
}

/** Heads by name, as a frozen registry. */
export const HEADS: Readonly<Record<HeadKind, (p: ParamSource, name: string, f: Value, classes: number) => Value>> = Object.freeze({
  cosine: cosineHead,
  linear: linearHead,
});
