/**
 * Class-incremental metrics over an accuracy matrix A, where A[t][g] is the top-1 accuracy after phase t on the
 * test images of class group g (g <= t; group 0 = base classes, group k = the classes of phase k).
 * All accuracies are fractions in [0, 1].
 */

/** What is measured after one phase. */
export interface PhaseEvaluation {
  phase: number;
  classesSeen: number;
  /** Top-1 / top-5 over the test images of every class seen so far. */
  accuracy: number;
  top5: number;
  /** Top-1 of the nearest-class-mean readout on the same images. */
  ncmAccuracy: number;
  /** Top-1 per class group 0..phase (a row of the accuracy matrix). */
  groupAccuracy: number[];
  /** Accuracy on the classes of earlier phases (null in phase 0) and on this phase's classes. */
  oldAccuracy: number | null;
  newAccuracy: number;
  testImages: number;
  trainSeconds: number;
  trainImages: number;
  imagesPerSecond: number;
  /** Top-1 of each readout when the model has several (SPB-M: `ensemble` of the rotation heads, `single` head). */
  readouts?: Record<string, number>;
}

export interface RunSummary {
  averageIncrementalAccuracy: number;
  finalAccuracy: number;
  /** Average forgetting (Chaudhry et al. 2018); 0 with a single phase. */
  forgetting: number;
  /** Backward transfer (Lopez-Paz & Ranzato 2017); 0 with a single phase. */
  backwardTransfer: number;
  averageIncrementalNcmAccuracy: number;
  finalNcmAccuracy: number;
  /** Average incremental top-1 of each readout, when the phases report several (SPB-M). */
  averageIncrementalReadouts?: Record<string, number>;
}

/**
 * Mean of the per-phase accuracies, phase 0 included.
 * @example averageIncrementalAccuracy([0.9, 0.7, 0.5]); // 0.7
 */
export function averageIncrementalAccuracy(perPhase: readonly number[]): number {
  if (perPhase.length === 0) throw new Error('no phases to average');
  return perPhase.reduce((a, v) => a + v, 0) / perPhase.length;
}

function checkMatrix(matrix: readonly (readonly number[])[]): void {
  matrix.forEach((row, t) => {
    if (row.length !== t + 1) throw new Error(`accuracy matrix row ${t} has ${row.length} entries; it needs ${t + 1} (groups 0..${t})`);
  });
}

/**
 * Average forgetting: for each group learned before the last phase, its best accuracy in phases before the last
 * minus its accuracy after the last phase, averaged over those groups.
 * @example averageForgetting([[0.9], [0.6, 0.8]]); // 0.3
 */
export function averageForgetting(matrix: readonly (readonly number[])[]): number {
  checkMatrix(matrix);
  const last = matrix.length - 1;
  if (last < 1) return 0;
  let sum = 0;
  for (let g = 0; g < last; g++) {
    let best = -Infinity;
    for (let t = g; t < last; t++) best = Math.max(best, matrix[t]![g]!);
    sum += best - matrix[last]![g]!;
  }
  return sum / last;
}

/**
 * Backward transfer: mean over groups learned before the last phase of (final accuracy - accuracy right after learning it).
 * Negative values mean forgetting.
 * @example backwardTransfer([[0.9], [0.6, 0.8]]); // -0.3
 */
export function backwardTransfer(matrix: readonly (readonly number[])[]): number {
  checkMatrix(matrix);
  const last = matrix.length - 1;
  if (last < 1) return 0;
  let sum = 0;
  for (let g = 0; g < last; g++) sum += matrix[last]![g]! - matrix[g]![g]!;
  return sum / last;
}

/**
 * Every summary number of a run from its per-phase evaluations.
 * @example const summary = summarize(phases); summary.averageIncrementalAccuracy;
 */
export function summarize(phases: readonly PhaseEvaluation[]): RunSummary {
  if (phases.length === 0) throw new Error('no phase was evaluated');
  const matrix = phases.map((p) => p.groupAccuracy);
  const readoutNames = Object.keys(phases[0]!.readouts ?? {}).filter((k) => phases.every((p) => p.readouts?.[k] !== undefined));
  return {
    averageIncrementalAccuracy: averageIncrementalAccuracy(phases.map((p) => p.accuracy)),
    finalAccuracy: phases.at(-1)!.accuracy,
    forgetting: averageForgetting(matrix),
    backwardTransfer: backwardTransfer(matrix),
    averageIncrementalNcmAccuracy: averageIncrementalAccuracy(phases.map((p) => p.ncmAccuracy)),
    finalNcmAccuracy: phases.at(-1)!.ncmAccuracy,
    ...(readoutNames.length
      ? { averageIncrementalReadouts: Object.fromEntries(readoutNames.map((k) => [k, averageIncrementalAccuracy(phases.map((p) => p.readouts![k]!))])) }
      : {}),
  };
}

/**
 * Fraction of correct predictions among the rows whose target is in `targetsWanted` (all rows when omitted).
 * @example fractionCorrect(Int32Array.of(0, 1), Int32Array.of(0, 0)); // 0.5
 */
export function fractionCorrect(predicted: Int32Array, targets: Int32Array, targetsWanted?: (t: number) => boolean): number {
  let hits = 0;
  let total = 0;
  for (let i = 0; i < targets.length; i++) {
    if (targetsWanted && !targetsWanted(targets[i]!)) continue;
    total++;
    if (predicted[i] === targets[i]) hits++;
  }
  return total === 0 ? 0 : hits / total;
}
