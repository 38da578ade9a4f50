/**
 * Chooses the `gauss` method's shrinkage settings on a validation run: reads a finished `onnx-cil run --method gauss
 * --validation-fraction F` folder (its last checkpoint holds the Gaussian statistics of every class, computed on
 * the training part), extracts the features of the held-out validation images once (the extractor is frozen after
 * phase 0, so they are the same in every phase), and prints the average incremental accuracy on the validation
 * images of every (priorStrength, shrinkage) pair, phase by phase as the run would have seen them. The test set is
 * never read.
 *
 * `--power` adds Tukey's ladder transform (each feature x becomes sign(x) |x|^power before the unit-length
 * normalisation, as FeCAM does) as a third dimension; for any power other than 1 the statistics are recomputed
 * from the training part's features (the checkpoint's are those of power 1).
 *
 * `--examples N` simulates classes added in an app from a few images: every later class's statistics come from its
 * first N training images (the base classes keep all theirs, as an exported phase-0 model does), as
 * tools/app-class-addition.ts adds them on the test set. It also prints the prototype readout of the same images
 * (the run's trained cosine rows for the base classes, the normalised mean of N unit features for each later one),
 * the readout `Classifier.addClasses` gives a model exported with prototypes.
 *
 *   node --import tsx tools/gauss-sweep.ts --run runs/fm-val-gauss-s1 --data ../shared/datasets/fashion-mnist \
 *     [--prior 0,5,20,100,1000] [--shrinkage 0.01,0.1,0.5,1] [--power 1,0.5] [--examples 5] [--json]
 */
import { join } from 'node:path';
import { buildLabelMap } from '../src/data/batches.js';
import { indicesOfClasses } from '../src/data/dataset.js';
import { loadCilCheckpoint, resolveCheckpointPath } from '../src/cil/checkpoint.js';
import { loadRunData } from '../src/cil/data.js';
import { phaseGroups, resolveClassOrder } from '../src/cil/protocol.js';
import { classifierForward, MAIN_HEAD } from '../src/cil/variants.js';
import {
  classMoments,
  mahalanobisParameters,
  mahalanobisScores,
  pooledCovariance,
  storedMoments,
  unitRows,
  type ClassMoments,
} from '../src/nn/class-statistics.js';
import { getModelSpec } from '../src/nn/models.js';
import { predict } from '../src/train/evaluate.js';
import { EvalSession } from '../src/train/session.js';
import { buildEvalGraph } from '../src/train/training-graph.js';
import { integerArg, listArg, parseToolArgs } from './lib/args.js';

const { values: flags } = parseToolArgs(import.meta.url, {
  run: { type: 'string' },
  data: { type: 'string' },
  prior: { type: 'string', default: '0,2,5,10,20,50,100,1000,100000' },
  shrinkage: { type: 'string', default: '0.01,0.03,0.1,0.3,1' },
  power: { type: 'string', default: '1' },
  examples: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean', default: false },
});
if (!flags.run) throw new Error('give --run RUN_FOLDER (a finished gauss run with --validation-fraction)');
const numbers = (text: string, flag: string) =>
  listArg([text]).map((v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag}: ${v} is not a number >= 0`);
    return n;
  });
const priors = numbers(flags.prior, '--prior');
const shrinkages = numbers(flags.shrinkage, '--shrinkage');
const powers = numbers(flags.power, '--power');
if (powers.includes(0)) throw new Error('--power: 0 maps every feature to +-1; give powers > 0');
const examples = integerArg(flags.examples, '--examples', Infinity, 1);

const checkpointPath = resolveCheckpointPath(flags.run);
const { meta, state } = loadCilCheckpoint(checkpointPath);
const { protocol } = meta;
if (protocol.validationFraction === undefined) throw new Error(`${flags.run} was not run with --validation-fraction: its evaluation set is the test set`);
if (!state.statistics) throw new Error(`${checkpointPath} holds no Gaussian class statistics (run it with --method gauss)`);
const { train, test: validation } = await loadRunData(protocol, flags.data);
const order = resolveClassOrder(protocol.classOrder, train.classNames.length);
const groups = phaseGroups(protocol, order).slice(0, meta.phase + 1);
const seen = groups.flat();
const spec = getModelSpec(protocol.model);
const classes = state.classes;
const inputShape = meta.inputShape;

const started = performance.now();
const graph = buildEvalGraph({
  name: 'features',
  batchSize: protocol.evalBatchSize,
  inputShape,
  forward: ({ params, x }) => ({ features: classifierForward(spec, params, x, classes).features }),
});
const evaluator = await EvalSession.create(graph, protocol.evalBatchSize, inputShape, { threads: integerArg(flags.threads, '--threads', 0) || undefined });
const labelMap = buildLabelMap(seen, train.classNames.length);
const p = await predict(evaluator, validation, state.weights, { labelMap, indices: indicesOfClasses(validation, seen) });
// The training part's features, only when statistics must be recomputed (the extractor is frozen after phase 0,
// so one pass gives every class's features as its phase saw them).
const trained =
  powers.some((v) => v !== 1) || Number.isFinite(examples)
    ? await predict(evaluator, train, state.weights, { labelMap, indices: indicesOfClasses(train, seen) })
    : null;
await evaluator.release();
const featureSeconds = (performance.now() - started) / 1000;
const features = p.outputs['features']!;
const dim = features.length / p.count;
const stats = state.statistics;
const seenAfter = groups.map((_, k) => groups.slice(0, k + 1).flat().length);
const ladder = (x: Float32Array, power: number) => (power === 1 ? x : x.map((v) => Math.sign(v) * Math.abs(v) ** power));
const baseCount = groups[0]!.length;

/** The training rows whose features make the statistics: all of a base class's, the first `examples` of a later one's. */
function statisticsRows(): { features: Float32Array; targets: Int32Array } {
  const all = trained!.outputs['features']!;
  const taken = new Array<number>(seen.length).fill(0);
  const rows: number[] = [];
  for (let r = 0; r < trained!.count; r++) {
    const slot = trained!.targets[r]!;
    if (slot >= baseCount && taken[slot]! >= examples) continue;
    taken[slot]!++;
    rows.push(r);
  }
  const features = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    features.set(all.subarray(r * dim, (r + 1) * dim), i * dim);
  });
  return { features, targets: Int32Array.from(rows, (r) => trained!.targets[r]!) };
}

type Statistics = { moments: ClassMoments; pooled: ArrayLike<number> };
const statisticsByPower = new Map<number, Statistics>();

/** Class moments and the base classes' pooled covariance for one power, computed once per power. */
function statisticsFor(power: number): Statistics {
  let computed = statisticsByPower.get(power);
  if (!computed) {
    computed = computeStatistics(power);
    statisticsByPower.set(power, computed);
  }
  return computed;
}

function computeStatistics(power: number): Statistics {
  if (power === 1 && !Number.isFinite(examples)) {
    return {
      moments: storedMoments(stats, dim),
      pooled: stats.pooled,
    };
  }
  const outputs = Array.from({ length: seen.length }, (_, i) => i);
  const rows = Number.isFinite(examples) ? statisticsRows() : { features: trained!.outputs['features']!, targets: trained!.targets };
  const moments = classMoments(ladder(rows.features, power), rows.targets, dim, outputs);
  const baseMoments = {
    dim,
    counts: moments.counts.slice(0, baseCount),
    means: moments.means.subarray(0, baseCount * dim),
    covariances: moments.covariances.subarray(0, baseCount * dim * dim),
  };
  return { moments, pooled: pooledCovariance(baseMoments) };
}

/** Top-1 accuracy on the validation images of the classes seen after each phase, from per-class scores. */
function phaseAccuracies(scores: ArrayLike<number>): number[] {
  return seenAfter.map((n) => {
    let hits = 0;
    let total = 0;
    for (let r = 0; r < p.count; r++) {
      if (p.targets[r]! >= n) continue;
      let best = 0;
      for (let c = 1; c < n; c++) if (scores[r * classes + c]! > scores[r * classes + best]!) best = c;
      total++;
      if (best === p.targets[r]) hits++;
    }
    return hits / total;
  });
}

/** Cosine scores against the trained rows of the base classes and prototype rows (normalised class means) after. */
function prototypeReadout(): number[] {
  const trainedRows = state.weights.get(`${MAIN_HEAD.prefix}.weight`);
  if (!trainedRows) throw new Error(`${checkpointPath} has no ${MAIN_HEAD.prefix}.weight`);
  const { moments } = statisticsFor(1);
  const rows = new Float64Array(classes * dim);
  rows.set(trainedRows.subarray(0, baseCount * dim));
  rows.set(moments.means.subarray(baseCount * dim, classes * dim), baseCount * dim);
  const unit = unitRows(rows, dim);
  const scores = new Float32Array(p.count * classes);
  for (let r = 0; r < p.count; r++) {
    for (let c = 0; c < classes; c++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += features[r * dim + j]! * unit[c * dim + j]!;
      scores[r * classes + c] = dot; // the feature's own norm and the head's scale do not change the argmax
    }
  }
  return phaseAccuracies(scores);
}

const rows: { power: number; priorStrength: number; shrinkage: number; phases: number[]; averageIncrementalAccuracy: number }[] = [];
for (const power of powers) {
  const { moments, pooled } = statisticsFor(power);
  const transformed = ladder(features, power);
  for (const priorStrength of priors) {
    for (const shrinkage of shrinkages) {
      const { means, precisions } = mahalanobisParameters(moments, pooled, { priorStrength, shrinkage });
      const phases = phaseAccuracies(mahalanobisScores(transformed, means, precisions, dim));
      rows.push({ power, priorStrength, shrinkage, phases, averageIncrementalAccuracy: phases.reduce((a, b) => a + b, 0) / phases.length });
    }
  }
}
const prototypePhases = prototypeReadout();
const prototypes = { phases: prototypePhases, averageIncrementalAccuracy: prototypePhases.reduce((a, b) => a + b, 0) / prototypePhases.length };
const best = rows.reduce((a, b) => (b.averageIncrementalAccuracy > a.averageIncrementalAccuracy ? b : a));
const result = {
  run: flags.run,
  checkpoint: join(checkpointPath),
  validationFraction: protocol.validationFraction,
  validationImages: p.count,
  examplesPerLaterClass: Number.isFinite(examples) ? examples : 'all',
  prototypes,
  featureSeconds,
  best: { power: best.power, priorStrength: best.priorStrength, shrinkage: best.shrinkage, averageIncrementalAccuracy: best.averageIncrementalAccuracy },
  rows,
};
if (flags.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const pct = (v: number) => (v * 100).toFixed(2);
  process.stdout.write(
    `validation: ${p.count} held-out images (${protocol.validationFraction} of the training set), features in ${featureSeconds.toFixed(1)} s\n`,
  );
  process.stdout.write(`power    prior  shrinkage  avg. inc. acc.  per phase\n`);
  for (const r of rows) {
    process.stdout.write(
      `${String(r.power).padStart(5)}  ${String(r.priorStrength).padStart(7)}  ${String(r.shrinkage).padStart(9)}  ${pct(r.averageIncrementalAccuracy).padStart(14)}  ${r.phases.map(pct).join(' / ')}\n`,
    );
  }
  process.stdout.write(
    `prototypes: ${pct(prototypes.averageIncrementalAccuracy)}  per phase ${prototypes.phases.map(pct).join(' / ')}\n` +
      `best: power ${best.power}, priorStrength ${best.priorStrength}, shrinkage ${best.shrinkage} (${pct(best.averageIncrementalAccuracy)}%)\n`,
  );
}
