/**
 * Gaussian class statistics over the phase-0 extractor: phase 0 trains as SPB's does (and can share it), or, with
 * `rotations` > 1, as SPB-M's does (one cosine head per image rotation; shares SPB-M's phase 0); later phases train
 * nothing; every class is modelled by the mean and covariance of its unit-length features, each
 * covariance blended with the base classes' pooled covariance by its image count and ridged, and images are
 * classified by the nearest class in Mahalanobis distance. In the spirit of FeCAM (NeurIPS 2023), with the pooled
 * prior so that a class given as 5 images in an app still gets a usable covariance.
 */
import { z } from 'zod';
import type { MethodDefinition } from './method.js';
import { rotationEnsembleVariant } from './spb-m.js';
import { spbPolicy } from './spb.js';

export const GaussConfigSchema = z.strictObject({
  /**
   * Images' worth of weight on the base classes' pooled covariance in each class covariance: 0 uses each class's
   * own covariance, a large value one shared covariance (linear discriminant). The default was chosen on a
   * validation split of fmnist-b5-p5's training data (tools/gauss-sweep.ts; docs/results.md): with 5,400 images
   * a class, 50,000 keeps 10% of a class's own covariance, and a class added from 5 images in an app takes the
   * pooled one. Presets carry their own where their validation split chose otherwise (the CIFAR-100 ones: 2,000).
   */
  priorStrength: z.number().min(0).default(50_000),
  /**
   * Ridge added to each class covariance, as a fraction of its mean variance (0: only a 1e-6 floor that keeps it
   * invertible; the pooled prior already conditions it, and validation preferred no ridge).
   */
  shrinkage: z.number().min(0).max(100).default(0),
  /**
   * Rotation heads of phase 0: 1 trains one cosine head with cross-entropy (SPB's phase 0); 2-4 train SPB-M's
   * phase 0 (the batch and its rotations through the extractor, one head per rotation, L_mp), a rotation-aware
   * extractor in the spirit of PASS (CVPR 2021). The statistics and the readout use the unrotated images' features.
   */
  rotations: z.number().int().min(1).max(4).default(1),
});
export type GaussConfig = z.infer<typeof GaussConfigSchema>;

export const gaussMethod: MethodDefinition<typeof GaussConfigSchema> = {
  name: 'gauss',
  description: 'Gaussian class statistics (mean + shrunk covariance of unit features) over the frozen phase-0 extractor, Mahalanobis readout',
  configSchema: GaussConfigSchema,
  policy: (cfg) => {
    const base = { distillation: false, reciprocalWeights: false, classifierInit: 'prototype', trainLaterPhases: false } as const;
    const classStatistics = { priorStrength: cfg.priorStrength, shrinkage: cfg.shrinkage };
    if (cfg.rotations === 1) return { ...spbPolicy(base), classStatistics };
    // SPB-M's phase 0, declared so that runs of either method share it.
    const model = rotationEnsembleVariant(cfg.rotations, 'ensemble');
    return { ...spbPolicy(base, { model, classificationName: 'mp' }), classStatistics, phaseZeroOf: { method: 'spb-m', config: { rotations: cfg.rotations } } };
  },
};
