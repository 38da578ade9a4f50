/**
 * Gaussian class statistics over a frozen feature extractor: per-class means and covariances of L2-normalised
 * features, covariances shrunk towards a pooled covariance (so a class with 5 images borrows the shape of the
 * classes learned before it) and towards a multiple of the identity, and the Mahalanobis readout they give.
 * Plain array code in float64 with no imports, so the learner, the exporter and the app (in browsers too) share one
 * implementation: features come from an evaluation graph or an exported model's `features` output; exported models
 * compute the same readout from standard ONNX ops (nn/mahalanobis.ts).
 */

/** Per-class first and second moments of unit-length feature rows. */
export interface ClassMoments {
  dim: number;
  /** Images per class. */
  counts: number[];
  /** Class means [classes * dim]. */
  means: Float64Array;
  /** Unbiased class covariances [classes * dim * dim] (zero for a class with one image). */
  covariances: Float64Array;
}

/** How class covariances are regularised before they are inverted. */
export interface ShrinkageOptions {
  /**
   * Weight of the pooled covariance, in images: Sigma_c = (n_c * S_c + priorStrength * S_pooled) / (n_c + priorStrength).
   * 0 uses each class's own covariance (FeCAM); Infinity one shared covariance for every class (LDA).
   */
  priorStrength: number;
  /** Ridge as a fraction of the mean variance: Sigma += shrinkage * trace(Sigma) / dim * I. */
  shrinkage: number;
}

/**
 * Unit-length copy of every `dim`-wide row.
 * @example unitRows(Float32Array.of(3, 4), 2); // Float64Array [0.6, 0.8]
 */
export function unitRows(features: ArrayLike<number>, dim: number): Float64Array {
  const rows = features.length / dim;
  if (!Number.isInteger(rows)) throw new Error(`${features.length} feature values are not rows of ${dim}`);
  const out = new Float64Array(features.length);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += features[r * dim + i]! ** 2;
    const inv = 1 / Math.sqrt(sq + 1e-12);
    for (let i = 0; i < dim; i++) out[r * dim + i] = features[r * dim + i]! * inv;
  }
  return out;
}

/**
 * Means and unbiased covariances of the unit-length features of each class in `classes` (in that order).
 * @example const m = classMoments(features, targets, 64, [50, 51]); // m.counts[0] images of class 50
 */
export function classMoments(features: ArrayLike<number>, targets: ArrayLike<number>, dim: number, classes: readonly number[]): ClassMoments {
  if (features.length !== targets.length * dim) throw new Error(`class statistics: ${features.length} feature values for ${targets.length} rows of ${dim}`);
  const z = unitRows(features, dim);
  const slot = new Map(classes.map((c, i) => [c, i]));
  const k = classes.length;
  const counts = new Array<number>(k).fill(0);
  const means = new Float64Array(k * dim);
  for (let r = 0; r < targets.length; r++) {
    const s = slot.get(targets[r]!);
    if (s === undefined) continue;
    counts[s]!++;
    for (let i = 0; i < dim; i++) means[s * dim + i]! += z[r * dim + i]!;
  }
  classes.forEach((c, s) => {
    if (counts[s] === 0) throw new Error(`class statistics: class ${c} has no images`);
    for (let i = 0; i < dim; i++) means[s * dim + i]! /= counts[s]!;
  });
  // Centred second moments: numerically safer than E[zz'] - mm' for tight clusters.
  const covariances = new Float64Array(k * dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < targets.length; r++) {
    const s = slot.get(targets[r]!);
    if (s === undefined) continue;
    for (let i = 0; i < dim; i++) centred[i] = z[r * dim + i]! - means[s * dim + i]!;
    const base = s * dim * dim;
    for (let i = 0; i < dim; i++) {
      const ci = centred[i]!;
      if (ci === 0) continue;
      for (let j = i; j < dim; j++) covariances[base + i * dim + j]! += ci * centred[j]!;
    }
  }
  for (let s = 0; s < k; s++) {
    const base = s * dim * dim;
    const denom = Math.max(1, counts[s]! - 1);
    for (let i = 0; i < dim; i++) {
      for (let j = i; j < dim; j++) {
        const v = covariances[base + i * dim + j]! / denom;
        covariances[base + i * dim + j] = v;
        covariances[base + j * dim + i] = v;
      }
    }
  }
  return { dim, counts, means, covariances };
}

/**
 * Class moments from the float32 arrays a checkpoint stores (counts, means [classes * dim], covariances
 * [classes * dim * dim]), widened to float64 for the shrinkage and inversion.
 * @example const m = storedMoments(state.statistics, 64);
 */
export function storedMoments(stored: { counts: ArrayLike<number>; means: ArrayLike<number>; covariances: ArrayLike<number> }, dim: number): ClassMoments {
  return { dim, counts: Array.from(stored.counts), means: Float64Array.from(stored.means), covariances: Float64Array.from(stored.covariances) };
}

/**
 * The within-class covariance pooled over classes, each weighted by its degrees of freedom (n_c - 1).
 * @example const pooled = pooledCovariance(classMoments(features, targets, 64, baseClasses));
 */
export function pooledCovariance(m: ClassMoments): Float64Array {
  const d2 = m.dim * m.dim;
  const out = new Float64Array(d2);
  let dof = 0;
  m.counts.forEach((n, s) => {
    const w = n - 1;
    if (w <= 0) return;
    dof += w;
    for (let i = 0; i < d2; i++) out[i]! += w * m.covariances[s * d2 + i]!;
  });
  if (dof === 0) throw new Error('class statistics: a pooled covariance needs a class with at least two images');
  for (let i = 0; i < d2; i++) out[i]! /= dof;
  return out;
}

/**
 * The regularised covariance of one class: blended with the pooled covariance by its image count, then ridged.
 * @example const sigma = shrunkCovariance(m.covariances.subarray(0, 64 * 64), m.counts[0], pooled, 64, { priorStrength: 20, shrinkage: 0.1 });
 */
export function shrunkCovariance(covariance: ArrayLike<number>, count: number, pooled: ArrayLike<number>, dim: number, opts: ShrinkageOptions): Float64Array {
  const d2 = dim * dim;
  const out = new Float64Array(d2);
  const own = Math.max(0, count - 1);
  const prior = opts.priorStrength;
  for (let i = 0; i < d2; i++) {
    out[i] = prior === Infinity ? pooled[i]! : own + prior === 0 ? 0 : (own * covariance[i]! + prior * pooled[i]!) / (own + prior);
  }
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += out[i * dim + i]!;
  // A floor keeps the ridge positive when every feature of a class is identical (trace 0).
  const ridge = Math.max(opts.shrinkage * (trace / dim), 1e-6);
  for (let i = 0; i < dim; i++) out[i * dim + i]! += ridge;
  return out;
}

/**
 * Inverse of a symmetric positive-definite matrix by Cholesky factorisation; throws when it is not positive definite.
 * @example spdInverse(Float64Array.of(4, 0, 0, 2), 2); // [0.25, 0, 0, 0.5]
 */
export function spdInverse(a: ArrayLike<number>, dim: number): Float64Array {
  const l = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * dim + j]!;
      for (let k = 0; k < j; k++) s -= l[i * dim + k]! * l[j * dim + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error(`class statistics: covariance is not positive definite (pivot ${s} at ${i}); raise the shrinkage`);
        l[i * dim + i] = Math.sqrt(s);
      } else {
        l[i * dim + j] = s / l[j * dim + j]!;
      }
    }
  }
  // inv(A) = inv(L)' inv(L); invert the lower-triangular factor column by column.
  const li = new Float64Array(dim * dim);
  for (let j = 0; j < dim; j++) {
    li[j * dim + j] = 1 / l[j * dim + j]!;
    for (let i = j + 1; i < dim; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * dim + k]! * li[k * dim + j]!;
      li[i * dim + j] = s / l[i * dim + i]!;
    }
  }
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      let s = 0;
      for (let k = j; k < dim; k++) s += li[k * dim + i]! * li[k * dim + j]!;
      out[i * dim + j] = s;
      out[j * dim + i] = s;
    }
  }
  return out;
}

/**
 * Class means and precision matrices (inverse shrunk covariances) for the Mahalanobis readout, as float32 arrays
 * ready to become model initializers.
 * @example const { means, precisions } = mahalanobisParameters(moments, pooled, { priorStrength: 20, shrinkage: 0.1 });
 */
export function mahalanobisParameters(m: ClassMoments, pooled: ArrayLike<number>, opts: ShrinkageOptions): { means: Float32Array; precisions: Float32Array } {
  const d2 = m.dim * m.dim;
  const precisions = new Float32Array(m.counts.length * d2);
  m.counts.forEach((n, s) => {
    const sigma = shrunkCovariance(m.covariances.subarray(s * d2, (s + 1) * d2), n, pooled, m.dim, opts);
    precisions.set(spdInverse(sigma, m.dim), s * d2);
  });
  return { means: Float32Array.from(m.means), precisions };
}

/**
 * Scores of every class for every feature row: minus the squared Mahalanobis distance of the unit-length feature
 * to the class mean (argmax = prediction). This is what the exported model computes.
 * @example const scores = mahalanobisScores(features, means, precisions, 64); // [rows * classes]
 */
export function mahalanobisScores(features: ArrayLike<number>, means: ArrayLike<number>, precisions: ArrayLike<number>, dim: number): Float32Array {
  const z = unitRows(features, dim);
  const rows = z.length / dim;
  const classes = means.length / dim;
  if (precisions.length !== classes * dim * dim) throw new Error(`class statistics: ${precisions.length} precision values for ${classes} classes of ${dim}`);
  const out = new Float32Array(rows * classes);
  const diff = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < classes; c++) {
      for (let i = 0; i < dim; i++) diff[i] = z[r * dim + i]! - means[c * dim + i]!;
      const base = c * dim * dim;
      let q = 0;
      for (let i = 0; i < dim; i++) {
        let row = 0;
        for (let j = 0; j < dim; j++) row += precisions[base + i * dim + j]! * diff[j]!;
        q += diff[i]! * row;
      }
      out[r * classes + c] = -q;
    }
  }
  return out;
}
