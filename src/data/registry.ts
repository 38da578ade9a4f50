/**
 * The datasets onnx-cil knows by name: their files, where to download them, and how to read them.
 */
import { deepFreeze } from '../util/read-only.js';
import { CIFAR100_FINE_CLASSES, CIFAR100_MEAN, CIFAR100_STD, readCifar100File, readLabelNames } from './cifar.js';
import type { ImageDataset } from './dataset.js';
import { idxToDataset, readIdxFile } from './idx.js';
import { locateDataset, type DatasetLayout, type DatasetLocation, type LocateOptions, type Split } from './locate.js';

/** A file to download and the sha256 of its bytes as downloaded. */
export interface DownloadFile {
  name: string;
  sha256: string;
}

/** A member of a downloaded archive, stored under `file` after extraction. */
export interface ArchiveMember {
  path: string;
  file: string;
  /** Unknown for files whose official bytes were not recorded; those are validated when loaded. */
  sha256?: string;
}

/** Where the official distribution lives. */
export type DownloadSource =
  | { kind: 'files'; baseUrl: string; files: readonly DownloadFile[] }
  | { kind: 'tar.gz'; url: string; archiveName: string; members: readonly ArchiveMember[] };

export interface DatasetSpec extends DatasetLayout {
  title: string;
  licence: string;
  classNames: readonly string[];
  channels: number;
  height: number;
  width: number;
  mean: readonly number[];
  std: readonly number[];
  /** Default training augmentation (random crop padding, horizontal flip); presets and flags override it. */
  augment: Readonly<{ padding: number; flip: boolean }>;
  /** Official download; absent for datasets embedded in the package. */
  download?: DownloadSource;
  /**
   * Files a mirror serves under `<mirror>/<folderName>/`, i.e. a mirror laid out like the
   * project's shared datasets folder. Absent for embedded datasets.
   */
  mirrorFiles?: readonly DownloadFile[];
  /** Reads one split from located files. */
  read(location: DatasetLocation, split: Split): ImageDataset;
}

const FASHION_MNIST_CLASSES = Object.freeze(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
/** Statistics of the full Fashion-MNIST training set; the mini subset uses them too, so models move between the two. */
const FASHION_MNIST_MEAN = Object.freeze([0.286]);
const FASHION_MNIST_STD = Object.freeze([0.353]);

const IDX_SPLIT_FILES: Readonly<Record<Split, { images: string; labels: string }>> = Object.freeze({
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
});

/** The path found for a required file; a location built by hand may lack it. */
function locatedFile(location: DatasetLocation, name: string): string {
  const path = location.files[name];
  if (path === undefined) {
    throw new Error(`${location.dir}: ${name} is not among the located files (${Object.keys(location.files).join(', ') || 'none'})`);
  }
  return path;
}

/** Accept the gzip files as distributed or their decompressed forms. */
function idxRequiredFiles(): Record<Split, [string, string][]> {
  const alternativesOf = (gz: string): [string, string] => [gz, gz.replace(/\.gz$/, '')];
  return {
    train: [alternativesOf(IDX_SPLIT_FILES.train.images), alternativesOf(IDX_SPLIT_FILES.train.labels)],
    test: [alternativesOf(IDX_SPLIT_FILES.test.images), alternativesOf(IDX_SPLIT_FILES.test.labels)],
  };
}

function readFashionMnist(name: string) {
  return (location: DatasetLocation, split: Split): ImageDataset => {
    const files = IDX_SPLIT_FILES[split];
    return idxToDataset(readIdxFile(locatedFile(location, files.images)), readIdxFile(locatedFile(location, files.labels)), {
      name: `${name}/${split}`,
      classNames: [...FASHION_MNIST_CLASSES],
      mean: [...FASHION_MNIST_MEAN],
      std: [...FASHION_MNIST_STD],
    });
  };
}

const FASHION_MNIST_FILES: readonly DownloadFile[] = [
  { name: 'train-images-idx3-ubyte.gz', sha256: 'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7' },
  { name: 'train-labels-idx1-ubyte.gz', sha256: '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056' },
  { name: 't10k-images-idx3-ubyte.gz', sha256: 'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa' },
  { name: 't10k-labels-idx1-ubyte.gz', sha256: '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05' },
];

/** CIFAR-100 fine label names in label order (as in fine_label_names.txt). */
// biome-ignore format: a hundred names read better packed than one per line
const CIFAR100_CLASSES = Object.freeze([
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle', 'bowl',
  'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle', 'chair',
  'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur', 'dolphin',
  'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard', 'lamp',
  'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck',
  'pine_tree', 'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road',
  'rocket', 'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger',
  'tractor', 'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman',
  'worm',
]);

const CIFAR100_TRAIN_BIN_SHA256 = '56e8564c75109936c8f2152d28097035559164096eb5af02745964d4d77d615b';
const CIFAR100_TEST_BIN_SHA256 = '0963a711c782a600e363bd27b2591918dc74a2e98edcd81325889cbdbe2d73fc';
const CIFAR100_LABEL_NAMES = 'fine_label_names.txt';

function readCifar100(location: DatasetLocation, split: Split): ImageDataset {
  const classNames = readLabelNames(locatedFile(location, CIFAR100_LABEL_NAMES), CIFAR100_FINE_CLASSES);
  return readCifar100File(locatedFile(location, `${split}.bin.gz`), {
    name: `cifar-100/${split}`,
    classNames,
    mean: CIFAR100_MEAN,
    std: CIFAR100_STD,
  });
}

/** Image geometry, statistics and default augmentation shared by the full Fashion-MNIST and its embedded subset. */
const FASHION_MNIST_IMAGES = {
  classNames: FASHION_MNIST_CLASSES,
  channels: 1,
  height: 28,
  width: 28,
  mean: FASHION_MNIST_MEAN,
  std: FASHION_MNIST_STD,
  augment: { padding: 2, flip: true },
} as const;

/** Every dataset onnx-cil can load by name (frozen, specs included). */
export const DATASETS: Readonly<Record<string, DatasetSpec>> = deepFreeze({
  'fashion-mnist': {
    name: 'fashion-mnist',
    title: 'Fashion-MNIST (Zalando Research): 60,000 train / 10,000 test 28x28 grayscale images, 10 classes',
    licence: 'MIT',
    folderName: 'fashion-mnist',
    requiredFiles: idxRequiredFiles(),
    ...FASHION_MNIST_IMAGES,
    download: { kind: 'files', baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/', files: FASHION_MNIST_FILES },
    mirrorFiles: FASHION_MNIST_FILES,
    read: readFashionMnist('fashion-mnist'),
  },
  'fashion-mnist-mini': {
    name: 'fashion-mnist-mini',
    title: 'Fashion-MNIST subset shipped with onnx-cil (see data/fashion-mnist-mini/README.md), 10 classes',
    licence: 'MIT',
    folderName: 'fashion-mnist-mini',
    requiredFiles: idxRequiredFiles(),
    embeddedFolder: 'data/fashion-mnist-mini',
    ...FASHION_MNIST_IMAGES,
    read: readFashionMnist('fashion-mnist-mini'),
  },
  'cifar-100': {
    name: 'cifar-100',
    title: 'CIFAR-100 (Krizhevsky, 2009): 50,000 train / 10,000 test 32x32 RGB images, 100 classes',
    licence: 'no explicit licence; cite Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009',
    folderName: 'cifar-100-binary',
    requiredFiles: {
      train: [['train.bin.gz', 'train.bin'], [CIFAR100_LABEL_NAMES]],
      test: [['test.bin.gz', 'test.bin'], [CIFAR100_LABEL_NAMES]],
    },
    classNames: CIFAR100_CLASSES,
    channels: 3,
    height: 32,
    width: 32,
    mean: CIFAR100_MEAN,
    std: CIFAR100_STD,
    augment: { padding: 4, flip: true },
    download: {
      kind: 'tar.gz',
      url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
      archiveName: 'cifar-100-binary.tar.gz',
      members: [
        { path: 'cifar-100-binary/train.bin', file: 'train.bin', sha256: CIFAR100_TRAIN_BIN_SHA256 },
        { path: 'cifar-100-binary/test.bin', file: 'test.bin', sha256: CIFAR100_TEST_BIN_SHA256 },
        { path: `cifar-100-binary/${CIFAR100_LABEL_NAMES}`, file: CIFAR100_LABEL_NAMES },
      ],
    },
    mirrorFiles: [
      { name: 'train.bin.gz', sha256: 'd821d972aa53a5bcbb4573a3380b24d0ef1a591ac0ae6e6c31c6d9308e59036b' },
      { name: 'test.bin.gz', sha256: '5ca1579bddd3272a07d691163bad183d831961943d787948c0310a088d618c38' },
      { name: CIFAR100_LABEL_NAMES, sha256: '4a53f81a8af29bb6aa646bfe2c455db1b061edfde82a39c0cfc313ef536c681b' },
    ],
    read: readCifar100,
  },
} satisfies Record<string, DatasetSpec>);

/**
 * Names of all registered datasets.
 *
 * @example
 * datasetNames(); // ['fashion-mnist', 'fashion-mnist-mini', 'cifar-100']
 */
export function datasetNames(): string[] {
  return Object.keys(DATASETS);
}

/**
 * The registry entry for `name`; an unknown name throws an error listing the known ones.
 *
 * @example
 * getDatasetSpec('cifar-100').download; // { kind: 'tar.gz', url: 'https://www.cs.toronto.edu/~kriz/...' }
 */
export function getDatasetSpec(name: string): DatasetSpec {
  const spec = Object.hasOwn(DATASETS, name) ? DATASETS[name] : undefined;
  if (!spec) throw new Error(`unknown dataset "${name}"; known datasets: ${datasetNames().join(', ')}`);
  return spec;
}

/**
 * Locates (see locate.ts for the search order) and reads one split of a registered dataset.
 *
 * @example
 * const train = loadDataset('fashion-mnist-mini', 'train');
 * const test = loadDataset('cifar-100', 'test', { dataPath: '../shared/datasets/cifar-100-binary' });
 */
export function loadDataset(name: string, split: Split, options: LocateOptions = {}): ImageDataset {
  if (split !== 'train' && split !== 'test') throw new Error(`unknown split "${String(split)}"; use train or test`);
  const spec = getDatasetSpec(name);
  return spec.read(locateDataset(spec, split, options), split);
}
