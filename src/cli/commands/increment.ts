import type { Argv, CommandModule } from 'yargs';
import { incrementModel } from '../../cil/increment.js';
import { checkRuntimeArgs, runtimeOptions, WORKERS_OPTION, type RuntimeArgs } from '../options.js';
import { createProgress, info, LOSS_LEGEND, rateField } from '../progress.js';

interface IncrementArgs extends RuntimeArgs {
  from: string;
  data: string;
  classes?: string[];
  out?: string;
  force: boolean;
  resize: boolean;
  'epochs-scale'?: number;
  seed?: number;
}

export const incrementCommand: CommandModule<object, IncrementArgs> = {
  command: 'increment',
  describe:
    "Teach a trained model new classes from their images only (one later phase of its method: SPB's training, gauss's statistics...) and write the next checkpoint",
  builder: (y: Argv) =>
    runtimeOptions(y)
      .option('from', { type: 'string', demandOption: true, describe: 'run folder (its latest phase) or class-incremental checkpoint' })
      .option('data', { type: 'string', demandOption: true, describe: 'image folder: one sub-folder of PNG/JPEG images per new class' })
      .option('classes', { type: 'string', array: true, describe: 'sub-folders (class names) to learn; default all' })
      .option('out', { type: 'string', describe: 'output checkpoint (default phase-<N>.onnx beside the input)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace the output checkpoint if it exists' })
      .option('resize', { type: 'boolean', default: false, describe: "resize images to the model's input size instead of rejecting other sizes" })
      .option('epochs-scale', { type: 'number', describe: "multiply the phase's epochs (default: the run's)" })
      .option('seed', { type: 'number', describe: "seed of the new rows, shuffling and augmentation (an integer; default: the run's)" })
      .option('workers', WORKERS_OPTION)
      .example('$0 increment --from runs/fmnist-mini-b5-p5-spb-s1 --data photos/new', 'add the classes in photos/new/<class>/') as Argv<IncrementArgs>,
  handler: async (a) => {
    checkRuntimeArgs(a, { seed: 'integer', 'epochs-scale': 'positive' });
    const bar = createProgress('epoch {epoch} |{bar}| {value}/{total} | loss {loss} | {rate} | ETA {eta_formatted}');
    let legend = false;
    let barEpoch = -1;
    const result = await incrementModel(
      {
        from: a.from,
        data: a.data,
        classes: a.classes,
        out: a.out,
        force: a.force,
        resize: a.resize,
        epochsScale: a['epochs-scale'],
        seed: a.seed,
        device: a.device,
        deviceId: a['device-id'],
        threads: a.threads,
        workers: a.workers,
      },
      {
        onInfo: info,
        onStep: (e) => {
          if (!legend) {
            legend = true;
            info(LOSS_LEGEND);
          }
          const payload = {
            epoch: `${e.epoch + 1}/${e.epochs}`,
            loss: `${e.loss.toFixed(4)} (${Object.entries(e.scalars)
              .map(([k, v]) => `${k} ${v.toFixed(4)}`)
              .join(', ')})`,
            rate: rateField(e.imagesPerSecond),
          };
          if (e.epoch !== barEpoch) {
            bar.stop();
            barEpoch = e.epoch;
            // The display starts once the epoch's first step is done; that step took time it did not see.
            bar.start(Math.min(e.batches, e.iterations - e.epoch * e.batches), payload, e.batch);
          }
          bar.update(e.batch, payload);
        },
        onEpochEnd: () => {
          bar.stop();
          barEpoch = -1;
        },
      },
    );
    info(
      `learned ${result.newClasses.join(', ')} in ${result.trainSeconds.toFixed(1)} s; the model now has ${result.classNames.length} classes; checkpoint ${result.checkpoint}`,
    );
    if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  },
};
