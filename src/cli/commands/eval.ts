import type { Argv, CommandModule } from 'yargs';
import { loadClassifier } from '../../app/node.js';
import { evaluateExportedModel } from '../../export/evaluate.js';
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
