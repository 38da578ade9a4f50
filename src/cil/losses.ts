/**
 * Composable loss pieces of a class-incremental phase. A method lists the pieces it wants; the learner sums
 * their weighted values into the phase's training loss and reports each piece as a scalar.
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { add, mul } from '../graph/ops/index.js';
import { meanCrossEntropy, normalizedFeatureDistance } from '../nn/functional.js';

/** What a loss piece can read while the training graph is built. */
export interface LossContext {
  graph: GraphBuilder;
  /** int64 targets [B] (output indices). */
  targets: Value;
  /** Cosine-classifier logits over all seen classes [B, C] (the main head on the unrotated images). */
  logits: Value;
  /** Every classifier head's logits on its own copy of the batch (SPB-M: one per rotation); default [logits]. */
  headLogits?: readonly Value[];
  /** Student features before normalisation of every copy that distils [kB, D] (SPB-M: all rotated copies). */
  features: Value;
  /** Features of the frozen extractor of the previous phase on the same copies; built on first use (needs a teacher). */
  teacherFeatures(): Value;
  /** The model variant's self-supervised loss L_in (SPB-I), when it has one. */
  selfSupervised?(): Value;
}

/** One weighted term of the loss; `name` is the scalar reported in progress and metrics. */
export interface LossPiece {
  readonly name: string;
  readonly weight: number;
  build(ctx: LossContext): Value;
}

/**
 * Cross-entropy over all seen classes, averaged over the classifier heads when there are several (SPB-M's
 * L_mp = (1/gamma) sum_b CE_b, reported as `mp`); one head is plain CE.
 * @example const ce = classificationLoss(0.2);
 */
export function classificationLoss(weight = 1, name = 'ce'): LossPiece {
  return { name, weight, build: (ctx) => meanCrossEntropy(ctx.headLogits ?? [ctx.logits], ctx.targets) };
}

/**
 * SPB-I's instance-level self-supervised loss L_in (rotation prediction or contrastive), as the model variant builds it.
 * @example const lin = selfSupervisedLoss(0.2);
 */
export function selfSupervisedLoss(weight = 1): LossPiece {
  return {
    name: 'in',
    weight,
    build: (ctx) => {
      if (!ctx.selfSupervised) throw new Error('the self-supervised loss needs a model variant with a self-supervised head (spb-i)');
      return ctx.selfSupervised();
    },
  };
}

/**
 * SPB's embedding distillation: squared L2 distance between the normalised features of the current and the
 * frozen extractor, summed over feature dimensions and averaged over the batch.
 * @example const em = embeddingDistillation(5);
 */
export function embeddingDistillation(weight = 1): LossPiece {
  return { name: 'em', weight, build: (ctx) => normalizedFeatureDistance(ctx.features, ctx.teacherFeatures()) };
}

/**
 * SPB's reciprocal weights: (Nnc/Noc) on the classification term and (Noc/Nnc) on the distillation term, so the
 * fewer the new classes relative to the old, the more the old embedding is kept.
 * @example reciprocalWeights(50, 10); // { classification: 0.2, distillation: 5 }
 */
export function reciprocalWeights(oldClasses: number, newClasses: number): { classification: number; distillation: number } {
  if (!(oldClasses > 0) || !(newClasses > 0)) throw new Error(`reciprocal weights need old and new classes, got ${oldClasses} old and ${newClasses} new`);
  return { classification: newClasses / oldClasses, distillation: oldClasses / newClasses };
}

/**
 * Builds every piece and sums the weighted values; returns the total and each unweighted piece.
 * @example const { loss, parts } = combineLosses([classificationLoss(0.2), embeddingDistillation(5)], ctx);
 */
export function combineLosses(pieces: readonly LossPiece[], ctx: LossContext): { loss: Value; parts: Record<string, Value> } {
  if (pieces.length === 0) throw new Error('a training phase needs at least one loss piece');
  const parts: Record<string, Value> = {};
  let loss: Value | null = null;
  for (const piece of pieces) {
    if (parts[piece.name]) throw new Error(`loss piece "${piece.name}" is listed twice`);
    const value = piece.build(ctx);
    parts[piece.name] = value;
    const term = piece.weight === 1 ? value : mul(value, ctx.graph.constF32(piece.weight));
    loss = loss ? add(loss, term) : term;
  }
  return { loss: loss!, parts };
}
