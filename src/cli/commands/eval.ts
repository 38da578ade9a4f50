import type { Argv, CommandModule } from 'yargs';
import { loadClassifier, type Classifier, type ShapedPixels } from '../../app/node.js';
import type { ImageDataset } from '../../data/dataset.js';
import { loadDataset } from '../../data/registry.js';
import { capToCores, checkNumbers } from '../options.js';

interface EvalArgs {
  model: string;
  dataset: string;
  data?: string;
  runtime: 'node' | 'web';
  threads?: number;
  'batch-size': number;
  json: boolean;
}

export interface ExportedModelEvaluation {
  /** Top-1 accuracy (0-1) on the test images of the classes the model knows. */
  accuracy: number;
  /** Images evaluated. */
  count: number;
  correct: number;
  /** Model classes found in the dataset (matched by name) and model classes that are not. */
  matchedClasses: string[];
  unmatchedClasses: string[];
  /** Per model class present in the dataset: accuracy and count. */
  perClass: Record<string, { accuracy: number; count: number }>;
}

/** Image `i` of an NCHW dataset as HWC pixels. */
export function datasetImage(ds: ImageDataset, i: number): ShapedPixels {
  const { channels: c, height: h, width: w } = ds;
  const size = c * h * w;
  const chw = ds.images.subarray(i * size, (i + 1) * size);
  if (c === 1) return { data: chw, shape: [h, w, 1] };
  const hwc = new Uint8Array(size);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) hwc[p * c + ch] = chw[ch * h * w + p]!;
  return { data: hwc, shape: [h, w, c] };
}

/**
 * Top-1 accuracy of an exported model on a dataset split, mapping the model's class names to the dataset's labels
 * by name; images of dataset classes the model does not know are left out.
 * @example const { accuracy, count } = await evaluateExportedModel(clf, loadDataset('fashion-mnist-mini', 'test'));
 */
export async function evaluateExportedModel(
  clf: Pick<Classifier<ShapedPixels>, 'classNames' | 'infer'>,
  ds: ImageDataset,
  opts: { batchSize?: number } = {},
): Promise<ExportedModelEvaluation> {
  const names = clf.classNames;
  const modelIndexOfLabel = ds.classNames.map((n) => names.indexOf(n));
  const matchedClasses = names.filter((n) => ds.classNames.includes(n));
  if (matchedClasses.length === 0) {
    throw new Error(`none of the model's classes (${names.slice(0, 5).join(', ')}...) is a class of ${ds.name} (${ds.classNames.slice(0, 5).join(', ')}...)`);
  }
  const positions: number[] = [];
  for (let i = 0; i < ds.count; i++) if (modelIndexOfLabel[ds.labels[i]!]! >= 0) positions.push(i);
  const batch = opts.batchSize ?? 256;
  const classes = names.length;
  const hits = new Map<string, { correct: number; count: number }>(matchedClasses.map((n) => [n, { correct: 0, count: 0 }]));
  let correct = 0;
  for (let s = 0; s < positions.length; s += batch) {
    const part = positions.slice(s, s + batch);
    const { probabilities } = await clf.infer(part.map((i) => datasetImage(ds, i)));
    part.forEach((pos, r) => {
      let best = 0;
      for (let k = 1; k < classes; k++) if (probabilities[r * classes + k]! > probabilities[r * classes + best]!) best = k;
      const target = modelIndexOfLabel[ds.labels[pos]!]!;
      const h = hits.get(names[target]!)!;
      h.count++;
      if (best === target) {
        correct++;
        h.correct++;
      }
    });
  }
  const perClass = Object.fromEntries([...hits].map(([n, h]) => [n, { accuracy: h.count ? h.correct / h.count : 0, count: h.count }]));
  return {
    accuracy: positions.length ? correct / positions.length : 0,
    count: positions.length,
    correct,
    matchedClasses,
    unmatchedClasses: names.filter((n) => !ds.classNames.includes(n)),
    perClass,
  };
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: "Evaluate an exported model on a dataset's test split (classes matched by name)",
  builder: (y: Argv) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'an exported model (onnx-cil export)' })
      .option('dataset', { type: 'string', demandOption: true, describe: 'dataset name (fashion-mnist, fashion-mnist-mini, cifar-100)' })
      .option('data', { type: 'string', describe: 'folder holding the dataset files (default: $ONNX_CIL_DATA, then the fetch cache)' })
      .option('runtime', { choices: ['node', 'web'] as const, default: 'node' as const, describe: 'onnxruntime-node or onnxruntime-web (wasm)' })
      .option('threads', { type: 'number', describe: "intra-op threads (default: onnxruntime's choice)" })
      .option('batch-size', { type: 'number', default: 256, describe: 'test images per progress step' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (accuracy 0-1, count, ...) on stdout' })
      .example('$0 eval --model model.onnx --dataset fashion-mnist-mini --json', '') as Argv<EvalArgs>,
  handler: async (a) => {
    checkNumbers(a, { 'batch-size': 'positive-integer', threads: 'positive-integer' });
    a.threads = capToCores('threads', a.threads);
    const ds = loadDataset(a.dataset, 'test', { dataPath: a.data });
    const clf = await loadClassifier(a.model, { runtime: a.runtime, threads: a.threads });
    try {
      const result = await evaluateExportedModel(clf, ds, { batchSize: a['batch-size'] });
      if (a.json) {
        process.stdout.write(`${JSON.stringify({ model: a.model, dataset: a.dataset, runtime: a.runtime, ...result })}\n`);
        return;
      }
      const skipped = ds.count - result.count;
      process.stdout.write(
        `${a.model} on ${ds.name}: accuracy ${(result.accuracy * 100).toFixed(2)}% (${result.correct}/${result.count})` +
          (skipped ? `; ${skipped} images of classes the model does not know left out` : '') +
          (result.unmatchedClasses.length ? `; model classes not in the dataset: ${result.unmatchedClasses.join(', ')}` : '') +
          '\n',
      );
    } finally {
      await clf.dispose();
    }
  },
};
