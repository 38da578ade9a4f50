import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import { info } from './progress.js';

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
    .option('device', {
      choices: ['cpu', 'cuda', 'auto'] as const,
      default: 'cpu' as const,
      describe: 'cpu, cuda (onnxruntime CUDA provider), or auto (cuda, else cpu)',
    })
    .option('device-id', { type: 'number', default: 0, describe: 'CUDA device index' })
    .option('threads', { type: 'number', describe: `onnxruntime intra-op threads (default: all cores; at most ${availableParallelism()}, the cores here)` })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object with the results on stdout' });
}

/** The batch-preparation workers option of the training commands. */
export const WORKERS_OPTION = { type: 'number', default: 1, describe: 'batch-preparation worker threads (0: in the main thread; at most the cores)' } as const;

/** Options shared by every command that trains. */
export function commonTrainingOptions<T>(y: Argv<T>) {
  return runtimeOptions(y)
    .option('data', { type: 'string', describe: 'folder holding the dataset files as distributed (default: $ONNX_CIL_DATA, then the fetch cache)' })
    .option('batch-size', { type: 'number', default: 128, describe: 'training images per step (at most the training images)' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the initial weights, shuffling and augmentation (an integer)' })
    .option('workers', WORKERS_OPTION);
}

/** What a numeric flag may hold. */
export type NumberRule =
  | 'positive-integer'
  | 'non-negative-integer'
  | 'integer'
  | 'positive'
  | 'non-negative'
  /** A fraction in [0, 1]. */
  | 'unit-interval';

const RULES: Readonly<Record<NumberRule, { ok(v: number): boolean; says: string }>> = Object.freeze({
  'positive-integer': { ok: (v) => Number.isSafeInteger(v) && v > 0, says: 'a positive integer' },
  'non-negative-integer': { ok: (v) => Number.isSafeInteger(v) && v >= 0, says: 'an integer >= 0' },
  integer: { ok: (v) => Number.isSafeInteger(v), says: 'an integer' },
  positive: { ok: (v) => Number.isFinite(v) && v > 0, says: 'a number > 0' },
  'non-negative': { ok: (v) => Number.isFinite(v) && v >= 0, says: 'a number >= 0' },
  'unit-interval': { ok: (v) => Number.isFinite(v) && v >= 0 && v <= 1, says: 'a number from 0 to 1' },
});

/**
 * Checks numeric flags before any work starts; throws one line naming the first bad flag. Absent optional flags
 * pass; arrays are checked element by element.
 * @example checkNumbers(argv, { 'batch-size': 'positive-integer', lr: 'positive' });
 */
export function checkNumbers(args: Readonly<Record<string, unknown>>, rules: Readonly<Record<string, NumberRule>>): void {
  for (const [flag, rule] of Object.entries(rules)) {
    const value = args[flag];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'number' && RULES[rule].ok(v)) continue;
      const got = typeof v === 'number' && Number.isNaN(v) ? 'something that is not a number' : String(v);
      throw new Error(`--${flag} must be ${RULES[rule].says}, got ${got}`);
    }
  }
}

/** Numeric rules of `runtimeOptions` and the workers option. */
export const RUNTIME_NUMBER_RULES: Readonly<Record<string, NumberRule>> = Object.freeze({
  'device-id': 'non-negative-integer',
  threads: 'positive-integer',
  workers: 'non-negative-integer',
});

/**
 * Caps a thread count at the machine's cores: more threads than cores only add contention (999 threads make a
 * step 100x slower), so the cap is announced in one line and applied.
 * @example capToCores('threads', 999); // 2 on a 2-core machine, after a notice
 */
export function capToCores(flag: string, value: number | undefined, cores = availableParallelism()): number | undefined {
  if (value === undefined || value <= cores) return value;
  info(`--${flag} ${value} is more than the ${cores} cores of this machine; using ${cores}`);
  return cores;
}

/**
 * Validates the runtime flags (and any others given) and caps threads and workers at the cores, in place.
 * @example checkRuntimeArgs(argv, { 'batch-size': 'positive-integer' });
 */
export function checkRuntimeArgs(args: Partial<RuntimeArgs> & Record<string, unknown>, rules: Readonly<Record<string, NumberRule>> = {}): void {
  checkNumbers(args, { ...RUNTIME_NUMBER_RULES, ...rules });
  args.threads = capToCores('threads', args.threads);
  if (args.workers !== undefined) args.workers = capToCores('workers', args.workers);
}

/**
 * A `--method-config` value: a JSON object of method settings (the method validates the keys and values).
 * @example jsonObjectFlag('{"priorStrength":2000}', '--method-config'); // { priorStrength: 2000 }
 */
export function jsonObjectFlag(text: string, flag: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${flag} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${flag} must be a JSON object`);
  return { ...(parsed as Record<string, unknown>) };
}
