/**
 * Finding a dataset's files on disk.
 *
 * Search order: an explicit `--data PATH` (authoritative: when given, nothing else is tried), then
 * `$ONNX_CIL_DATA`, then the cache filled by `onnx-cil data fetch` (or, for embedded datasets, the
 * copy shipped in the package). Each data root may hold the files directly or in a sub-folder
 * named after the dataset or after its distribution folder (e.g. `cifar-100-binary`), so pointing
 * ONNX_CIL_DATA at a folder laid out like `../shared/datasets` finds every dataset.
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageRoot } from '../util/package-root.js';

export type Split = 'train' | 'test';

/** Environment variables, injectable for tests. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What locating needs to know about a dataset. */
export interface DatasetLayout {
  name: string;
  /** Folder name of the distribution (sub-folder accepted under data roots and used by mirrors). */
  folderName: string;
  /** Per split, the files needed; each entry lists acceptable names, preferred first (e.g. `train.bin.gz`, `train.bin`). */
  requiredFiles: Readonly<Record<Split, readonly (readonly [string, ...string[]])[]>>;
  /** Folder relative to the package root holding a shipped copy, for datasets embedded in the package. */
  embeddedFolder?: string;
}

export interface LocateOptions {
  /** `--data PATH`: a folder holding the files as distributed. */
  dataPath?: string;
  /** Defaults to process.env; reads ONNX_CIL_DATA, XDG_CACHE_HOME, HOME. */
  env?: Environment;
}

export type LocationSource = 'data-path' | 'env' | 'cache' | 'embedded';

export interface DatasetLocation {
  dir: string;
  source: LocationSource;
  /** Required file name (first alternative) -> existing path. */
  files: Record<string, string>;
}

export const DATA_ENV_VARIABLE = 'ONNX_CIL_DATA';

/**
 * Thrown when no searched place holds the dataset; `searched` lists each place and why it did not match.
 *
 * @example
 * try { loadDataset('cifar-100', 'train'); } catch (error) { if (error instanceof DatasetNotFoundError) console.error(error.message); }
 */
export class DatasetNotFoundError extends Error {
  constructor(
    readonly dataset: string,
    readonly searched: string[],
    message: string,
  ) {
    super(message);
    this.name = 'DatasetNotFoundError';
  }
}

/**
 * Root of the dataset cache: `$XDG_CACHE_HOME/onnx-cil/datasets`, else `~/.cache/onnx-cil/datasets`.
 *
 * @example
 * datasetCacheRoot({ XDG_CACHE_HOME: '/tmp/cache' }); // '/tmp/cache/onnx-cil/datasets'
 */
export function datasetCacheRoot(env: Environment = process.env): string {
  const cacheHome = env['XDG_CACHE_HOME'] ? resolve(env['XDG_CACHE_HOME']) : join(env['HOME'] || homedir(), '.cache');
  return join(cacheHome, 'onnx-cil', 'datasets');
}

/**
 * The cache folder that `onnx-cil data fetch NAME` fills.
 *
 * @example
 * datasetCacheDir('cifar-100'); // '~/.cache/onnx-cil/datasets/cifar-100'
 */
export function datasetCacheDir(name: string, env: Environment = process.env): string {
  return join(datasetCacheRoot(env), name);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Which required files of a split a folder holds (first acceptable name found for each) and which it lacks.
 *
 * @example
 * const { files, missing } = matchDatasetFiles('/data/cifar-100-binary', cifarSpec, 'test');
 */
export function matchDatasetFiles(dir: string, layout: DatasetLayout, split: Split): { files: Record<string, string>; missing: string[] } {
  const files: Record<string, string> = {};
  const missing: string[] = [];
  for (const alternatives of layout.requiredFiles[split]) {
    const found = alternatives.map((name) => join(dir, name)).find(isFile);
    if (found) files[alternatives[0]] = found;
    else missing.push(alternatives.join(' or '));
  }
  return { files, missing };
}

/** The folder itself and its sub-folders named after the dataset or its distribution folder. */
function rootCandidates(root: string, layout: DatasetLayout): string[] {
  const candidates = [root, join(root, layout.name), join(root, layout.folderName)];
  return [...new Set(candidates)];
}

/** Tries the candidates of one data root; returns the first complete folder or a note on what was found. */
function searchRoot(root: string, layout: DatasetLayout, split: Split): { dir: string; files: Record<string, string> } | { note: string } {
  if (!isDirectory(root)) return { note: `${root} (not a folder)` };
  const notes: string[] = [];
  for (const dir of rootCandidates(root, layout)) {
    if (!isDirectory(dir)) continue;
    const { files, missing } = matchDatasetFiles(dir, layout, split);
    if (missing.length === 0) return { dir, files };
    notes.push(`${dir} lacks ${missing.join(', ')}`);
  }
  return { note: notes.join('; ') };
}

/**
 * Where the files of one split of a dataset are, following the documented search order.
 * Throws DatasetNotFoundError listing every place searched and how to get the data.
 *
 * @example
 * const where = locateDataset(getDatasetSpec('cifar-100'), 'train', { dataPath: argv.data });
 * where.files['train.bin.gz']; // the path of train.bin.gz or train.bin
 */
export function locateDataset(layout: DatasetLayout, split: Split, options: LocateOptions = {}): DatasetLocation {
  const env = options.env ?? process.env;
  const expected = layout.requiredFiles[split].map((alternatives) => alternatives.join(' or ')).join(', ');

  if (options.dataPath !== undefined) {
    const root = resolve(options.dataPath);
    const found = searchRoot(root, layout, split);
    if ('dir' in found) return { ...found, source: 'data-path' };
    const alternative = layout.embeddedFolder
      ? 'drop --data to use the copy shipped with onnx-cil'
      : `drop --data and run \`onnx-cil data fetch ${layout.name}\``;
    throw new DatasetNotFoundError(
      layout.name,
      [`--data ${found.note}`],
      `dataset "${layout.name}" (${split} split) not found at --data ${options.dataPath}: ${found.note}. ` +
        `Expected ${expected} in that folder or in its sub-folder ${layout.name}/ or ${layout.folderName}/. ` +
        `Fix the path, or ${alternative}.`,
    );
  }

  const howToGet = layout.embeddedFolder
    ? `it ships with onnx-cil in ${layout.embeddedFolder}/; reinstall the package, or pass --data PATH`
    : `download it with \`onnx-cil data fetch ${layout.name}\`, or pass \`--data PATH\` (or set ${DATA_ENV_VARIABLE}) ` +
      `to a folder holding the files as distributed`;
  const searched: string[] = [];
  const envRoot = env[DATA_ENV_VARIABLE];
  if (envRoot) {
    const found = searchRoot(resolve(envRoot), layout, split);
    if ('dir' in found) return { ...found, source: 'env' };
    searched.push(`${DATA_ENV_VARIABLE}: ${found.note}`);
  } else {
    searched.push(`${DATA_ENV_VARIABLE}: not set`);
  }

  const lastResort = layout.embeddedFolder
    ? { dir: join(packageRoot(), layout.embeddedFolder), source: 'embedded' as const, label: 'package copy' }
    : { dir: datasetCacheDir(layout.name, env), source: 'cache' as const, label: 'download cache' };
  if (isDirectory(lastResort.dir)) {
    const { files, missing } = matchDatasetFiles(lastResort.dir, layout, split);
    if (missing.length === 0) return { dir: lastResort.dir, files, source: lastResort.source };
    searched.push(`${lastResort.label}: ${lastResort.dir} lacks ${missing.join(', ')}`);
  } else {
    searched.push(`${lastResort.label}: ${lastResort.dir} (not present)`);
  }

  throw new DatasetNotFoundError(
    layout.name,
    searched,
    `dataset "${layout.name}" (${split} split: ${expected}) not found. Searched:\n` +
      searched.map((line) => `  - ${line}`).join('\n') +
      `\nTo get it: ${howToGet}.`,
  );
}
