/**
 * Accuracy of classes added in the app (no training) on a class-incremental protocol: exports a run's phase-0
 * checkpoint, adds every later phase's classes with `Classifier.addClasses` from their training images, and
 * evaluates after each phase on the test images of all classes seen so far, like `onnx-cil run` does. Pass
 * `--compare` with another run's metrics.json (e.g. full SPB training) to print both side by side.
 *
 *   node --import tsx tools/app-class-addition.ts --run runs/fmnist-b5-p5-spb [--data ../shared/datasets/fashion-mnist]
 *     [--examples 20] [--compare runs/fmnist-b5-p5-spb/metrics.json] [--method-config '{"priorStrength":50000}'] [--json]
 *
 * `--method-config` exports the checkpoint with these method settings over its own, as `onnx-cil export
 * --method-config` does (for gauss: how the Mahalanobis readout regularises every class's covariance, the base
 * classes' and the added ones'), so one run's statistics give the in-app accuracy of any setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClassifier, type ShapedPixels } from '../src/app/node.js';
import type { CilCheckpointMeta } from '../src/cil/checkpoint.js';
import { phaseGroups, resolveClassOrder } from '../src/cil/protocol.js';
import { datasetImage, evaluateExportedModel } from '../src/export/evaluate.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/registry.js';
import { exportModel } from '../src/export/index.js';
import { jsonObjectFlag } from '../src/cli/options.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { integerArg, parseToolArgs } from './lib/args.js';

function imagesOf(ds: ImageDataset, label: number, limit: number): ShapedPixels[] {
  const out: ShapedPixels[] = [];
  for (let i = 0; i < ds.count && out.length < limit; i++) if (ds.labels[i] === label) out.push(datasetImage(ds, i));
  return out;
}

async function main(): Promise<void> {
  const { values: flags } = parseToolArgs(import.meta.url, {
    run: { type: 'string' },
    data: { type: 'string' },
    examples: { type: 'string' },
    compare: { type: 'string' },
    'method-config': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const { run, data: dataPath, compare } = flags;
  if (!run) throw new Error('give --run RUN_FOLDER (a class-incremental run with phase-0.onnx)');
  const phase0 = join(run, 'phase-0.onnx');
  if (!existsSync(phase0)) throw new Error(`${phase0} does not exist`);
  const examples = integerArg(flags.examples, '--examples', Infinity, 1);
  const checkpoint = loadCheckpoint<CilCheckpointMeta>(phase0);
  const methodConfig = flags['method-config'] === undefined ? undefined : jsonObjectFlag(flags['method-config'], '--method-config');
  const { protocol } = checkpoint.meta;
  if (protocol.data.kind !== 'registered') throw new Error('this script reads registered datasets only (not image folders)');
  const train = loadDataset(protocol.data.name, 'train', { dataPath });
  const test = loadDataset(protocol.data.name, 'test', { dataPath });
  const groups = phaseGroups(protocol, resolveClassOrder(protocol.classOrder, train.classNames.length));
  const exported = exportModel(checkpoint, { methodConfig });
  const clf = await loadClassifier(exported.bytes);
  const phases: { phase: number; classesSeen: number; accuracy: number; count: number; addSeconds: number }[] = [];
  for (const [phase, group] of groups.entries()) {
    const started = performance.now();
    if (phase > 0) await clf.addClasses(group.map((label) => ({ label: train.classNames[label]!, images: imagesOf(train, label, examples) })));
    const addSeconds = (performance.now() - started) / 1000;
    const e = await evaluateExportedModel(clf, test);
    phases.push({ phase, classesSeen: clf.classNames.length, accuracy: e.accuracy, count: e.count, addSeconds });
  }
  await clf.dispose();
  const average = phases.reduce((a, p) => a + p.accuracy, 0) / phases.length;
  const other = compare
    ? (JSON.parse(readFileSync(compare, 'utf8')) as { method?: string; phases: { accuracy: number }[]; averageIncrementalAccuracy: number })
    : null;
  const result = {
    run,
    examplesPerClass: Number.isFinite(examples) ? examples : 'all',
    readout: exported.info.readout,
    phases,
    averageIncrementalAccuracy: average,
    finalAccuracy: phases.at(-1)!.accuracy,
    compare: other && {
      file: compare,
      method: other.method,
      phases: other.phases.map((p) => p.accuracy),
      averageIncrementalAccuracy: other.averageIncrementalAccuracy,
    },
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  process.stdout.write(`in-app class addition from ${phase0} (${result.examplesPerClass} training images per new class)\n`);
  process.stdout.write(`| phase | classes | in-app addition |${other ? ` ${other.method ?? 'compared run'} |` : ''}\n|---|---|---|${other ? '---|' : ''}\n`);
  for (const p of phases) {
    const otherCell = other ? ` ${other.phases[p.phase] ? pct(other.phases[p.phase]!.accuracy) : '-'} |` : '';
    process.stdout.write(`| ${p.phase} | ${p.classesSeen} | ${pct(p.accuracy)} |${otherCell}\n`);
  }
  process.stdout.write(`| average incremental | | ${pct(average)} |${other ? ` ${pct(other.averageIncrementalAccuracy)} |` : ''}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`app-class-addition: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
