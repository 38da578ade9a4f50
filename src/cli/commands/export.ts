import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { exportModel, loadExportSource, type InputLayout } from '../../export/index.js';
import { removeStaleTemporaryFiles, writeFileAtomic } from '../../util/atomic-file.js';
import { prepareOutputFolder } from '../../util/output-folder.js';
import { jsonObjectFlag } from '../options.js';
import { info } from '../progress.js';

interface ExportArgs {
  from: string;
  out: string;
  input: 'float32' | 'float32-nchw' | 'uint8-rgba' | 'uint8-nhwc';
  'single-head': boolean;
  'method-config'?: string;
  force: boolean;
  json: boolean;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Write an inference model (.onnx) for apps and browsers from a checkpoint or run folder',
  builder: (y: Argv) =>
    y
      .option('from', { type: 'string', demandOption: true, describe: 'a checkpoint .onnx, or a run folder (its latest checkpoint is used)' })
      .option('out', { type: 'string', demandOption: true, describe: 'the .onnx file to write' })
      .option('input', {
        choices: ['float32', 'float32-nchw', 'uint8-rgba', 'uint8-nhwc'] as const,
        default: 'float32' as const,
        describe: 'float32: normalised NCHW floats; uint8-rgba: canvas RGBA bytes [N,H,W,4]; uint8-nhwc: bytes [N,H,W,C] (normalisation inside the model)',
      })
      .option('single-head', {
        type: 'boolean',
        default: false,
        describe:
          'export the main classifier head alone: head 0 of a rotation ensemble (SPB-M), the cosine classifier of a model with class statistics (gauss)',
      })
      .option('method-config', {
        type: 'string',
        describe:
          "JSON object of method settings for the exported readout, over the checkpoint's own (gauss: how the Mahalanobis readout regularises covariances, e.g. the settings chosen for classes added in an app from a few images)",
      })
      .option('force', { type: 'boolean', default: false, describe: 'replace --out if it exists' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object describing the export on stdout' })
      .example('$0 export --from runs/train --out model.onnx --input uint8-rgba', 'a model that takes canvas pixels')
      .example(
        `$0 export --from runs/cifar100-b50-p5-gauss-s1/phase-0.onnx --out app.onnx --method-config '{"priorStrength":50000,"shrinkage":0.1}'`,
        'a gauss model for adding classes from 5-50 images in an app (the settings chosen for that on CIFAR-100)',
      ) as Argv<ExportArgs>,
  handler: (a) => {
    const methodConfig = a['method-config'] === undefined ? undefined : jsonObjectFlag(a['method-config'], '--method-config');
    const { path, checkpoint, accuracy } = loadExportSource(a.from);
    if (existsSync(a.out) && !a.force) throw new Error(`${a.out} already exists; pass --force to replace it, or choose another --out`);
    const folder = dirname(a.out) || '.';
    prepareOutputFolder(folder);
    removeStaleTemporaryFiles(folder, a.out);
    const input: InputLayout = a.input === 'float32' ? 'float32-nchw' : a.input;
    const result = exportModel(checkpoint, { input, singleHead: a['single-head'], accuracy, methodConfig });
    writeFileAtomic(a.out, result.bytes);
    const summary = {
      checkpoint: path,
      out: a.out,
      bytes: result.bytes.byteLength,
      foldedBatchNorms: result.foldedBatchNorms,
      ...result.info,
    };
    if (a.json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    const acc = result.info.accuracy !== undefined ? `, run accuracy ${(result.info.accuracy * 100).toFixed(2)}%` : '';
    info(
      `exported ${path} -> ${a.out} (${(result.bytes.byteLength / 1024).toFixed(0)} KiB): ${result.info.model} ${result.info.head}${result.info.readout.kind === 'mahalanobis' ? ' with the Mahalanobis readout' : ''}, ` +
        `${result.info.classNames.length} classes, input ${input} [${result.info.inputSize.join('x')}], ${result.foldedBatchNorms} BatchNorms folded${acc}`,
    );
  },
};
