import type { Argv } from 'yargs';

/** Parsed values of `runtimeOptions`, plus the batch-preparation workers every training command takes. */
export interface RuntimeArgs {
  device: 'cpu' | 'cuda' | 'auto';
  'device-id': number;
  threads?: number;
  workers: number;
  json: boolean;
}

/** Options shared by every command that runs a model. */
export function runtimeOptions<T>(y: Argv<T>) {
  return y
    .option('device', { choices: ['cpu', 'cuda', 'auto'] as const, default: 'cpu' as const, describe: 'cpu, cuda (onnxruntime CUDA provider), or auto (cuda, else cpu)' })
    .option('device-id', { type: 'number', default: 0, describe: 'CUDA device index' })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object with the results on stdout' });
}

/** Options shared by every command that trains. */
export function commonTrainingOptions<T>(y: Argv<T>) {
  return runtimeOptions(y)
    .option('data', { type: 'string', describe: 'folder holding the dataset files as distributed (default: $ONNX_CIL_DATA, then the fetch cache)' })
    .option('batch-size', { type: 'number', default: 128 })
    .option('seed', { type: 'number', default: 1 })
    .option('workers', { type: 'number', default: 1, describe: 'batch-preparation worker threads (0: in the main thread)' });
}
