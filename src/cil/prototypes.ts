/**
 * Class prototypes on the unit sphere: SPB's initialisation of new classifier rows, and the class means of the
 * nearest-class-mean (NCM) readout. Plain array code: features come from an evaluation graph.
 */

function normalizeRow(row: Float32Array | Float64Array, out: Float64Array): Float64Array {
  let sq = 0;
  for (let i = 0; i < row.length; i++) sq += row[i]! * row[i]!;
  const inv = 1 / Math.sqrt(sq + 1e-12);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! * inv;
  return out;
}

/**
 * For each class in `classes`: the L2-normalised mean of the L2-normalised feature rows whose target is that
 * class. Rows are `dim` wide; the result holds one row per entry of `classes`, in that order.
 * @example
 * const rows = classPrototypes(features, targets, 128, [5, 6]); // 2 x 128, each of unit length
 */
export function classPrototypes(features: Float32Array, targets: Int32Array, dim: number, classes: readonly number[]): Float32Array {
  if (features.length !== targets.length * dim) throw new Error(`prototypes: ${features.length} feature values for ${targets.length} rows of ${dim}`);
  const out = new Float32Array(classes.length * dim);
  const sums = classes.map(() => new Float64Array(dim));
  const counts = classes.map(() => 0);
  const slot = new Map(classes.map((c, i) => [c, i]));
  const unit = new Float64Array(dim);
  for (let r = 0; r < targets.length; r++) {
    const s = slot.get(targets[r]!);
    if (s === undefined) continue;
    normalizeRow(features.subarray(r * dim, (r + 1) * dim), unit);
    const sum = sums[s]!;
    for (let i = 0; i < dim; i++) sum[i]! += unit[i]!;
    counts[s]!++;
  }
  classes.forEach((c, s) => {
    if (counts[s] === 0) throw new Error(`prototypes: class ${c} has no images`);
    const mean = normalizeRow(
      sums[s]!.map((v) => v / counts[s]!),
      new Float64Array(dim),
    );
    for (let i = 0; i < dim; i++) out[s * dim + i] = mean[i]!;
  });
  return out;
}

/**
 * The classifier matrix with `newRows` appended: old rows are copied byte for byte.
 * @example const weight = appendRows(oldWeight, prototypes); // [(C_old + C_new) * D]
 */
export function appendRows(weight: Float32Array, newRows: Float32Array): Float32Array {
  const out = new Float32Array(weight.length + newRows.length);
  out.set(weight, 0);
  out.set(newRows, weight.length);
  return out;
}

/**
 * Nearest-class-mean predictions: for each feature row, the index of the closest unit-length class mean
 * (cosine similarity, the same ranking as Euclidean distance between unit vectors).
 * @example const predicted = nearestMean(features, means, 128); // Int32Array of class indices
 */
export function nearestMean(features: Float32Array, means: Float32Array, dim: number): Int32Array {
  const rows = features.length / dim;
  const classes = means.length / dim;
  const out = new Int32Array(rows);
  const unit = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    normalizeRow(features.subarray(r * dim, (r + 1) * dim), unit);
    let best = -Infinity;
    for (let c = 0; c < classes; c++) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += unit[i]! * means[c * dim + i]!;
      if (dot > best) {
        best = dot;
        out[r] = c;
      }
    }
  }
  return out;
}
