import type { Argv, CommandModule } from 'yargs';
import { loadClassifier } from '../../app/node.js';
import { capToCores, checkNumbers } from '../options.js';

interface PredictArgs {
  model: string;
  images: string[];
  'top-k': number;
  runtime: 'node' | 'web';
  threads?: number;
  json: boolean;
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict <images..>',
  describe: 'Classify image files with an exported model and print the top-k labels',
  builder: (y: Argv) =>
    y
      .positional('images', { type: 'string', array: true, default: undefined, describe: 'image files (PNG, JPEG, WebP...); resized to the model input' })
      .option('model', { type: 'string', demandOption: true, describe: 'an exported model (onnx-cil export)' })
      .option('top-k', { type: 'number', default: 5, describe: 'labels to print per image' })
      .option('runtime', { choices: ['node', 'web'] as const, default: 'node' as const, describe: 'onnxruntime-node or onnxruntime-web (wasm)' })
      .option('threads', { type: 'number', describe: "intra-op threads (default: onnxruntime's choice)" })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout' })
      .example('$0 predict --model model.onnx shoe.png bag.jpg --top-k 3', '') as Argv<PredictArgs>,
  handler: async (a) => {
    checkNumbers(a, { 'top-k': 'positive-integer', threads: 'positive-integer' });
    a.threads = capToCores('threads', a.threads);
    const clf = await loadClassifier(a.model, { runtime: a.runtime, threads: a.threads });
    try {
      const results = await clf.classifyBatch(a.images, { topK: a['top-k'] });
      const predictions = a.images.map((image, i) => ({ image, top: results[i]!.map(({ label, probability }) => ({ label, probability })) }));
      if (a.json) {
        process.stdout.write(`${JSON.stringify({ model: a.model, predictions })}\n`);
        return;
      }
      for (const p of predictions) {
        process.stdout.write(`${p.image}: ${p.top.map((t) => `${t.label} ${(t.probability * 100).toFixed(1)}%`).join(', ')}\n`);
      }
    } finally {
      await clf.dispose();
    }
  },
};
