import type { Argv, CommandModule } from 'yargs';
import { parseTrainConfig, trainClassifier, readRunConfig } from '../../train/classifier.js';
import { createProgress, info, rateField } from '../progress.js';
import { checkRuntimeArgs, commonTrainingOptions, type RuntimeArgs } from '../options.js';

interface TrainArgs extends RuntimeArgs {
  dataset: string;
  data?: string;
  model: string;
  head: 'cosine' | 'linear';
  epochs: number;
  'batch-size': number;
  lr: number;
  momentum: number;
  'weight-decay': number;
  nesterov: boolean;
  schedule: 'cosine' | 'step' | 'constant';
  milestones?: number[];
  'warmup-epochs': number;
  'crop-padding'?: number;
  flip?: boolean;
  seed: number;
  out: string;
  resume: boolean;
  force: boolean;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train a classifier (backbone + head) on one dataset, evaluating on its test split',
  builder: (y: Argv) =>
    commonTrainingOptions(y)
      .option('dataset', { type: 'string', default: 'fashion-mnist-mini', describe: 'dataset name (fashion-mnist, fashion-mnist-mini, cifar-100)' })
      .option('model', { type: 'string', default: 'convnet', describe: 'backbone from models/ (convnet, resnet32, resnet18)' })
      .option('head', { choices: ['cosine', 'linear'] as const, default: 'cosine' as const, describe: 'classifier head' })
      .option('epochs', { type: 'number', default: 5, describe: 'passes over the training images' })
      .option('lr', { type: 'number', default: 0.1, describe: 'base learning rate' })
      .option('momentum', { type: 'number', default: 0.9, describe: 'SGD momentum (0 to 1)' })
      .option('weight-decay', { type: 'number', default: 5e-4, describe: 'L2 weight decay added to the gradients' })
      .option('nesterov', { type: 'boolean', default: false, describe: 'Nesterov momentum' })
      .option('schedule', {
        choices: ['cosine', 'step', 'constant'] as const,
        default: 'cosine' as const,
        describe: 'learning-rate schedule over all steps (step: x0.1 at each --milestones epoch)',
      })
      .option('milestones', { type: 'number', array: true, describe: 'epochs where a step schedule multiplies the rate by 0.1' })
      .option('warmup-epochs', { type: 'number', default: 0, describe: 'epochs (may be fractional) of linear learning-rate warm-up' })
      .option('crop-padding', { type: 'number', describe: "random-crop padding in pixels (default: the dataset's)" })
      .option('flip', { type: 'boolean', describe: "random horizontal flips (default: the dataset's)" })
      .option('out', { type: 'string', default: 'runs/train', describe: 'run folder (config, checkpoint, metrics)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from its last finished epoch' })
      .option('force', { type: 'boolean', default: false, describe: 'replace the run already in --out (its checkpoint and metrics are deleted)' })
      .example('$0 train --dataset fashion-mnist --data ./fashion-mnist --epochs 5', 'full Fashion-MNIST, convnet') as Argv<TrainArgs>,
  handler: async (a) => {
    checkRuntimeArgs(a, {
      epochs: 'positive-integer',
      'batch-size': 'positive-integer',
      seed: 'integer',
      lr: 'positive',
      momentum: 'unit-interval',
      'weight-decay': 'non-negative',
      milestones: 'positive',
      'warmup-epochs': 'non-negative',
      'crop-padding': 'non-negative-integer',
    });
    if (a.resume && a.force) throw new Error('--resume continues the run in --out and --force replaces it: give one of them');
    const saved = a.resume ? readRunConfig(a.out) : null;
    const cfg = parseTrainConfig({
      ...(saved ?? {}),
      dataset: a.dataset,
      dataPath: a.data,
      model: a.model,
      head: a.head,
      epochs: a.epochs,
      batchSize: a['batch-size'],
      lr: a.lr,
      momentum: a.momentum,
      weightDecay: a['weight-decay'],
      nesterov: a.nesterov,
      schedule: a.schedule,
      milestones: a.milestones ?? [],
      warmupEpochs: a['warmup-epochs'],
      cropPadding: a['crop-padding'],
      flip: a.flip,
      seed: a.seed,
      device: a.device,
      deviceId: a['device-id'],
      threads: a.threads,
      workers: a.workers,
    });
    const bar = createProgress('epoch {epoch} |{bar}| {value}/{total} | loss {loss} | acc {acc} | {rate} | ETA {eta_formatted}');
    let barEpoch = -1;
    const result = await trainClassifier(cfg, {
      outDir: a.out,
      resume: a.resume,
      force: a.force,
      onInfo: info,
      onStep: (e) => {
        if (e.epoch !== barEpoch) {
          bar.stop();
          barEpoch = e.epoch;
          // The display starts once the epoch's first step is done; that step took time it did not see.
          bar.start(e.batches, { epoch: `${e.epoch + 1}/${e.epochs}`, loss: '-', acc: '-', rate: '- img/s' }, e.batch);
        }
        bar.update(e.batch, {
          epoch: `${e.epoch + 1}/${e.epochs}`,
          loss: e.loss.toFixed(4),
          acc: `${(e.trainAccuracy * 100).toFixed(1)}%`,
          rate: rateField(e.imagesPerSecond),
        });
      },
      onEpoch: (e) => {
        bar.stop();
        barEpoch = -1;
        const test = e.testAccuracy !== undefined ? ` | test acc ${(e.testAccuracy * 100).toFixed(2)}%` : '';
        info(
          `epoch ${e.epoch + 1}/${e.epochs}: loss ${e.meanLoss.toFixed(4)} | train acc ${(e.trainAccuracy * 100).toFixed(2)}% | ${(e.images / e.seconds).toFixed(0)} img/s | ${e.seconds.toFixed(1)} s${test}`,
        );
      },
    });
    info(
      `test accuracy ${(result.testAccuracy * 100).toFixed(2)}% after ${result.epochs} epochs; ${result.imagesPerSecond.toFixed(0)} img/s; checkpoint ${result.checkpoint}`,
    );
    if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  },
};
