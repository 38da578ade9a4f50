/** Loading a protocol's data: a registered dataset by name, or an image folder with train and test sub-folders. */
import { join } from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { loadImageFolder } from '../data/image-folder.js';
import { loadDataset } from '../data/registry.js';
import { stratifiedSplit } from '../data/split.js';
import { deriveSeed } from '../util/rng.js';
import type { Protocol, ProtocolData } from './protocol.js';

export interface ProtocolDatasets {
  train: ImageDataset;
  test: ImageDataset;
}

type Loader<K extends ProtocolData['kind']> = (data: Extract<ProtocolData, { kind: K }>, dataPath: string | undefined) => Promise<ProtocolDatasets>;

/** Loaders by data kind (a frozen map: new kinds register here). */
const LOADERS: Readonly<{ [K in ProtocolData['kind']]: Loader<K> }> = Object.freeze({
  registered: async (data, dataPath) => ({
    train: loadDataset(data.name, 'train', { dataPath }),
    test: loadDataset(data.name, 'test', { dataPath }),
  }),
  'image-folder': async (data, dataPath) => {
    if (!dataPath) throw new Error(`this protocol reads an image folder: pass --data FOLDER holding ${data.trainDir}/ and ${data.testDir}/`);
    const train = await loadImageFolder(join(dataPath, data.trainDir), { size: data.imageSize, channels: data.channels, sizePolicy: 'resize' });
    // Test images are normalised with the training statistics and must list the same classes.
    const test = await loadImageFolder(join(dataPath, data.testDir), {
      size: data.imageSize,
      channels: data.channels,
      sizePolicy: 'resize',
      classes: train.classNames,
      mean: train.mean,
      std: train.std,
    });
    return { train, test };
  },
});

/**
 * Both splits of a protocol's data.
 * @example const { train, test } = await loadProtocolData(protocol.data, '../shared/datasets/fashion-mnist');
 */
export async function loadProtocolData(data: ProtocolData, dataPath?: string): Promise<ProtocolDatasets> {
  const loader = LOADERS[data.kind] as Loader<typeof data.kind>;
  return loader(data as never, dataPath);
}

/** Seed tag of the validation split, so the split does not move with the batch order of any phase. */
const VALIDATION_SPLIT_TAG = 0x7a11d;

/**
 * The data a run trains and evaluates on: the protocol's train and test sets, or, with `validationFraction`, the
 * training set split into a part to train on and a held-out validation part evaluated instead of the test set.
 * @example const { train, test } = await loadRunData(protocol, dataPath); // test is the validation part if set
 */
export async function loadRunData(protocol: Pick<Protocol, 'data' | 'seed' | 'validationFraction'>, dataPath?: string): Promise<ProtocolDatasets> {
  const data = await loadProtocolData(protocol.data, dataPath);
  if (protocol.validationFraction === undefined) return data;
  const { fit, validation } = stratifiedSplit(data.train, protocol.validationFraction, deriveSeed(protocol.seed, VALIDATION_SPLIT_TAG));
  return { train: fit, test: validation };
}
