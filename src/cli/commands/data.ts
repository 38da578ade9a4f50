import type { Argv, CommandModule } from 'yargs';
import { fetchDataset } from '../../data/fetch.js';
import { datasetNames, getDatasetSpec } from '../../data/registry.js';
import { downloadProgress, info } from '../progress.js';

interface FetchArgs {
  name: string;
  dir?: string;
  mirror?: string;
  json: boolean;
}

const fetchCommand: CommandModule<object, FetchArgs> = {
  command: 'fetch <name>',
  describe: 'Download a dataset from its official source (sha256-verified, resumable) into the cache or --dir',
  builder: (y: Argv) =>
    y
      .positional('name', {
        type: 'string',
        demandOption: true,
        describe: `dataset: ${datasetNames()
          .filter((n) => getDatasetSpec(n).download)
          .join(', ')}`,
      })
      .option('dir', { type: 'string', describe: 'target folder (default: the cache folder searched by every command)' })
      .option('mirror', {
        type: 'string',
        describe: 'base URL of a mirror laid out as <mirror>/<dataset folder>/<file> (default: $ONNX_CIL_DATA_MIRROR, else official)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (files, folder, source) on stdout' }) as Argv<FetchArgs>,
  handler: async (a) => {
    const progress = downloadProgress();
    try {
      const r = await fetchDataset(a.name, { dir: a.dir, mirror: a.mirror, onProgress: progress.onProgress });
      info(`${a.name}: ${r.files.length} files in ${r.dir} (${r.skipped.length} already present) from ${r.source}`);
      if (a.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    } finally {
      progress.stop();
    }
  },
};

const listCommand: CommandModule = {
  command: 'list',
  describe: 'List the datasets onnx-cil knows',
  handler: () => {
    for (const n of datasetNames()) process.stdout.write(`${n}: ${getDatasetSpec(n).title}\n`);
  },
};

export const dataCommand: CommandModule = {
  command: 'data <command>',
  describe: 'Dataset tools (fetch, list)',
  builder: (y) =>
    y
      .command(fetchCommand as CommandModule)
      .command(listCommand)
      .demandCommand(1),
  handler: () => {},
};
