/**
 * SPB-M (multi-perspective): SPB's phase mechanics with gamma rotation heads. The batch and its rotations by
 * 90/180/270 degrees pass through the extractor as one batch; head b (its own rows and scale) classifies the copy
 * rotated by b; L_mp = (1/gamma) sum_b CE_b; later phases train (Nnc/Noc) * L_mp + (Noc/Nnc) * L_em with L_em on
 * every rotated copy against the frozen extractor's features of the same copy; phase 0 trains L_mp alone. New
 * rows of head b are prototypes of features of images rotated by b. Test time: the mean of the heads' softmax
 * probabilities, each head on its own rotation (`readout: single` reads head 0 alone; both are reported).
 */
import { z } from 'zod';
import type { Value } from '../../graph/builder.js';
import type { ModelSpec } from '../../nn/models.js';
import type { ParamSource } from '../../nn/params.js';
import { copyOf, fourRotations, QUARTER_TURNS } from '../../nn/rotations.js';
import {
  backboneOn,
  classifierOn,
  combineHeads,
  featuresOutput,
  lazy,
  MAIN_HEAD,
  type EvalOutputs,
  type ModelVariant,
  type TrainForward,
  type TrainForwardContext,
} from '../variants.js';
import type { MethodDefinition } from './method.js';
import { spbPolicy, SpbConfigSchema } from './spb.js';

/** Prefix of the classifier reading images rotated by `rotation` (rotation 0 is the usual `fc`). */
export function rotationHeadPrefix(rotation: number): string {
  return rotation === 0 ? MAIN_HEAD.prefix : `fc_rot${rotation}`;
}

export type RotationReadout = 'ensemble' | 'single';

/**
 * SPB-M's model: rotations 0..gamma-1 of the batch pass through the extractor as one batch; head b (its own rows
 * and scale) classifies the copy rotated by b. Evaluation: `readout_ensemble` (mean of the heads' probabilities)
 * and `readout_single` (head 0 on the unrotated image); `logits` is the chosen `readout`.
 * @example const variant = rotationEnsembleVariant(4, 'ensemble');
 */
export function rotationEnsembleVariant(gamma = QUARTER_TURNS, readout: RotationReadout = 'ensemble'): ModelVariant {
  if (!Number.isInteger(gamma) || gamma < 1 || gamma > QUARTER_TURNS) throw new Error(`rotations: 1 to ${QUARTER_TURNS}, got ${gamma}`);
  const rotations = Array.from({ length: gamma }, (_, r) => r);
  const heads = rotations.map((r) => Object.freeze({ prefix: rotationHeadPrefix(r), rotation: r }));
  const forward = (spec: ModelSpec, params: ParamSource, x: Value, classes: number) => {
    const rotated = x.graph.scope('rotate', () => fourRotations(x, rotations));
    const { features } = backboneOn(spec, params, rotated);
    const perRotation = rotations.map((r) => (gamma === 1 ? features : x.graph.scope(`rot${r}`, () => copyOf(features, r, gamma))));
    const headLogits = heads.map((h, b) => classifierOn(params, h.prefix, perRotation[b]!, classes));
    return { rotated, features, perRotation, headLogits };
  };
  const variant: ModelVariant = {
    name: `rotation-ensemble-${gamma}`,
    heads,
    trainForward(ctx: TrainForwardContext): TrainForward {
      const { rotated, features, headLogits } = forward(ctx.spec, ctx.params, ctx.x, ctx.classes);
      return { logits: headLogits[0]!, headLogits, features, teacherFeatures: lazy(() => ctx.teacherFeatures(rotated)) };
    },
    evalForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      const { perRotation, headLogits } = forward(spec, params, x, classes);
      const ensemble = x.graph.scope('ensemble', () => combineHeads(headLogits));
      const outputs: EvalOutputs = {
        logits: readout === 'ensemble' ? ensemble : headLogits[0]!,
        readout_ensemble: ensemble,
        readout_single: headLogits[0]!,
      };
      for (const r of rotations) outputs[featuresOutput(r)] = perRotation[r]!;
      return outputs;
    },
    stateForward(spec: ModelSpec, params: ParamSource, x: Value, classes: number): EvalOutputs {
      return variant.evalForward(spec, params, x, classes);
    },
  };
  return Object.freeze(variant);
}

export const SpbMConfigSchema = z.strictObject({
  ...SpbConfigSchema.shape,
  /** gamma: number of rotation heads (rotations 0, 90, ... degrees). */
  rotations: z.number().int().min(1).max(4).default(4),
  /** The primary readout of evaluations (accuracy, metrics); the other is reported under `readouts`. */
  readout: z.enum(['ensemble', 'single']).default('ensemble'),
});
export type SpbMConfig = z.infer<typeof SpbMConfigSchema>;

export const spbMMethod: MethodDefinition<typeof SpbMConfigSchema> = {
  name: 'spb-m',
  description: 'SPB-M: SPB with one cosine classifier per image rotation (multi-perspective), heads combined at test time',
  configSchema: SpbMConfigSchema,
  policy: (cfg) => spbPolicy(cfg, { model: rotationEnsembleVariant(cfg.rotations, cfg.readout), classificationName: cfg.rotations > 1 ? 'mp' : 'ce' }),
};
