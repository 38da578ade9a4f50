import type { Argv, CommandModule } from 'yargs';
import { METHODS } from '../../cil/methods/index.js';
import { loadProtocol, protocolPresets } from '../../cil/protocol.js';
import { runProtocol } from '../../cil/run.js';
import { checkRuntimeArgs, jsonObjectFlag, runtimeOptions, WORKERS_OPTION, type RuntimeArgs } from '../options.js';
import { createProgress, info, LOSS_LEGEND, rateField } from '../progress.js';

interface RunArgs extends RuntimeArgs {
  preset: string;
  method: string;
  out?: string;
  seed?: number;
  'epochs-scale': number;
  bn?: 'train' | 'frozen';
  data?: string;
  resume: boolean;
  force: boolean;
  'base-from'?: string;
  distillation?: boolean;
  'reciprocal-weights'?: boolean;
  'classifier-init'?: 'prototype' | 'random';
  'method-config'?: string;
  'validation-fraction'?: number;
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);

/**
 * The run folder used when --out is not given: preset, method and seed, plus the epochs scale when it is not 1, so
 * a short trial run does not occupy the folder of the full run.
 * @example defaultRunFolder('fmnist-b5-p5', 'spb', 1, 0.25); // 'runs/fmnist-b5-p5-spb-s1-x0.25'
 */
export function defaultRunFolder(preset: string, method: string, seed: number, epochsScale = 1): string {
  return `runs/${preset}-${method}-s${seed}${epochsScale === 1 ? '' : `-x${epochsScale}`}`;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Run a class-incremental protocol (all phases) with one method, evaluating after every phase',
  builder: (y: Argv) =>
    runtimeOptions(y)
      .option('preset', {
        type: 'string',
        default: 'fmnist-mini-b5-p5',
        describe: `protocol preset (${[...protocolPresets().keys()].join(', ')}) or a .yaml/.json protocol file`,
      })
      .option('method', {
        type: 'string',
        choices: [...METHODS.keys()],
        // The measured best: above proto and the paper's methods on fmnist-b5-p5 and cifar100-b50-p5 (docs/results.md).
        default: 'gauss',
        describe:
          "learning method; gauss (default, the most accurate measured: Gaussian class statistics over the phase-0 extractor, no later training), the paper's spb, spb-m and spb-i, and the baselines proto, ft and joint",
      })
      .option('out', { type: 'string', describe: 'run folder (default runs/<preset>-<method>-s<seed>, plus -x<scale> when --epochs-scale is not 1)' })
      .option('seed', { type: 'number', describe: "seed of weights and batches (default: the preset's)" })
      .option('epochs-scale', {
        type: 'number',
        default: 1,
        describe: 'multiply every epoch count and milestone (in iterations, rounded; >= 1 iteration per phase)',
      })
      .option('bn', { choices: ['train', 'frozen'] as const, describe: "BatchNorm in later phases (default: the preset's)" })
      .option('data', { type: 'string', describe: 'folder holding the dataset files (or the image folder with train/ and val/)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from its last finished epoch' })
      .option('force', { type: 'boolean', default: false, describe: 'replace the run already in --out (its checkpoints, metrics and report are deleted)' })
      .option('base-from', {
        type: 'string',
        describe:
          'reuse phase 0 of this run folder (same protocol, seed and scale; spb, gauss, ft, proto and joint share phase 0; spb-m and spb-i only with their own method)',
      })
      .option('distillation', { type: 'boolean', describe: 'spb ablation: --no-distillation trains with CE only' })
      .option('reciprocal-weights', { type: 'boolean', describe: 'spb ablation: --no-reciprocal-weights weights both terms 1' })
      .option('classifier-init', { choices: ['prototype', 'random'] as const, describe: 'how new classifier rows start (spb, ft, joint)' })
      .option('method-config', {
        type: 'string',
        describe: `JSON object of method settings, over the preset's own for the method (cifar100-b50-p5 and -p10 carry gauss settings chosen on their validation split), validated by the method (e.g. gauss: {"priorStrength":50000,"rotations":4}; spb-m: {"readout":"single","rotations":4}; spb-i: {"selfSupervised":"contrastive","selfSupervisedWeight":0.5,"rotationAngles":"every"})`,
      })
      .option('validation-fraction', {
        type: 'number',
        describe:
          "hold out this fraction of every class's training images (stratified, seeded) and evaluate on it instead of the test set: for choosing hyper-parameters",
      })
      .option('workers', WORKERS_OPTION)
      .example('$0 run', 'the default: gauss on fmnist-mini-b5-p5 (the embedded subset), about 30 s on 2 cores')
      .example('$0 run --preset fmnist-b5-p5 --method spb-m --data ./fashion-mnist --epochs-scale 0.25', 'SPB-M: four rotation heads, combined at test time')
      .example(
        '$0 run --preset cifar100-b50-p5 --method spb --epochs-scale 0.25',
        "the paper's protocol on CIFAR-100 (after `onnx-cil data fetch cifar-100`), a quarter of its epochs",
      ) as Argv<RunArgs>,
  handler: async (a) => {
    checkRuntimeArgs(a, { seed: 'integer', 'epochs-scale': 'positive' });
    if (a.resume && a.force) throw new Error('--resume continues the run in --out and --force replaces it: give one of them');
    const protocol = loadProtocol(a.preset);
    if (a.seed !== undefined) protocol.seed = a.seed;
    if (a.bn) protocol.laterPhaseBn = a.bn;
    const fraction = a['validation-fraction'];
    if (fraction !== undefined) {
      if (!(fraction > 0 && fraction < 1)) throw new Error(`--validation-fraction must be between 0 and 1 (exclusive), got ${fraction}`);
      protocol.validationFraction = fraction;
    }
    const methodConfig = a['method-config'] === undefined ? {} : jsonObjectFlag(a['method-config'], '--method-config');
    if (a.distillation !== undefined) methodConfig['distillation'] = a.distillation;
    if (a['reciprocal-weights'] !== undefined) methodConfig['reciprocalWeights'] = a['reciprocal-weights'];
    if (a['classifier-init'] !== undefined) methodConfig['classifierInit'] = a['classifier-init'];
    const out = a.out ?? defaultRunFolder(protocol.name, a.method, protocol.seed, a['epochs-scale']) + (fraction === undefined ? '' : `-val${fraction}`);
    const bar = createProgress('phase {phase} epoch {epoch} |{bar}| {value}/{total} | loss {loss} | {rate} | ETA {eta_formatted}');
    let legend = false;
    let barKey = '';
    const result = await runProtocol(
      {
        protocol,
        preset: a.preset,
        method: a.method,
        methodConfig,
        epochsScale: a['epochs-scale'],
        dataPath: a.data,
        outDir: out,
        resume: a.resume,
        force: a.force,
        baseFrom: a['base-from'],
        device: a.device,
        deviceId: a['device-id'],
        threads: a.threads,
        workers: a.workers,
      },
      {
        onInfo: info,
        onPhaseStart: (e) =>
          info(
            `phase ${e.phase}/${e.phases - 1}: ${e.newClasses.length} new class${e.newClasses.length > 1 ? 'es' : ''} (${e.newClasses.slice(0, 5).join(', ')}${e.newClasses.length > 5 ? ', ...' : ''})${e.trains ? '' : ' - prototypes only, no training'}`,
          ),
        onStep: (e) => {
          if (!legend) {
            legend = true;
            info(LOSS_LEGEND);
          }
          const key = `${e.phase}/${e.epoch}`;
          const payload = {
            phase: `${e.phase}/${e.phases - 1}`,
            epoch: `${e.epoch + 1}/${e.epochs}`,
            loss: `${e.loss.toFixed(4)} (${Object.entries(e.scalars)
              .map(([k, v]) => `${k} ${v.toFixed(4)}`)
              .join(', ')})`,
            rate: rateField(e.imagesPerSecond),
          };
          if (key !== barKey) {
            bar.stop();
            barKey = key;
            // The display starts once the epoch's first step is done; that step took time it did not see.
            bar.start(Math.min(e.batches, e.iterations - e.epoch * e.batches), payload, e.batch);
          }
          bar.update(e.batch, payload);
        },
        onEpoch: (e) => {
          bar.stop();
          barKey = '';
          const parts = Object.entries(e.meanScalars)
            .map(([k, v]) => ` ${k} ${v.toFixed(4)}`)
            .join('');
          info(
            `  epoch ${e.epoch + 1}/${e.epochs}: loss ${e.meanLoss.toFixed(4)}${parts} | train acc ${pct(e.trainAccuracy)} | ${(e.images / e.seconds).toFixed(0)} img/s | ${e.seconds.toFixed(1)} s`,
          );
        },
        onPhaseEnd: (p) =>
          info(
            `  after phase ${p.phase}: top-1 ${pct(p.accuracy)} | top-5 ${pct(p.top5)} | NCM ${pct(p.ncmAccuracy)} | old ${pct(p.oldAccuracy)} | new ${pct(p.newAccuracy)} | groups [${p.groupAccuracy.map((g) => (g * 100).toFixed(1)).join(' ')}]` +
              (p.readouts
                ? ` | readouts ${Object.entries(p.readouts)
                    .map(([k, v]) => `${k} ${pct(v)}`)
                    .join(', ')}`
                : ''),
          ),
      },
    );
    info(
      `${result.method} on ${result.preset}: average incremental accuracy ${pct(result.averageIncrementalAccuracy)}, final ${pct(result.finalAccuracy)}, ` +
        `forgetting ${pct(result.forgetting)}` +
        (result.averageIncrementalReadouts
          ? ` (readouts: ${Object.entries(result.averageIncrementalReadouts)
              .map(([k, v]) => `${k} ${pct(v)}`)
              .join(', ')})`
          : '') +
        `, ${result.imagesPerSecond.toFixed(0)} img/s, ${result.wallSeconds.toFixed(0)} s; report ${out}/report.html`,
    );
    if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  },
};
