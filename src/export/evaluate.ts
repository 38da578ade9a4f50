/**
 * Accuracy of an exported model on a dataset split, through anything that runs it the way the app API does (a
 * loaded classifier): evaluation belongs with the export, so the CLI, tools and tests share it.
 */
import type { ImageDataset } from '../data/dataset.js';

/** An image as HWC bytes, what the app API accepts as shaped pixels. */
export interface HwcImage {
  data: Uint8Array;
  shape: readonly number[];
}

/** What evaluation needs of a loaded exported model (the app API's classifier has it). */
export interface ExportedModelRunner {
  readonly classNames: readonly string[];
  infer(images: readonly HwcImage[]): Promise<{ probabilities: Float32Array }>;
}

export interface ExportedModelEvaluation {
  /** Top-1 accuracy (0-1) on the test images of the classes the model knows. */
  accuracy: number;
  /** Images evaluated. */
  count: number;
  correct: number;
  /** Model classes found in the dataset (matched by name) and model classes that are not. */
  matchedClasses: string[];
  unmatchedClasses: string[];
  /** Per model class present in the dataset: accuracy and count. */
  perClass: Record<string, { accuracy: number; count: number }>;
}

/** Image `i` of an NCHW dataset as HWC pixels. */
export function datasetImage(ds: ImageDataset, i: number): HwcImage {
  const { channels: c, height: h, width: w } = ds;
  const size = c * h * w;
  const chw = ds.images.subarray(i * size, (i + 1) * size);
  if (c === 1) return { data: chw, shape: [h, w, 1] };
  const hwc = new Uint8Array(size);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) hwc[p * c + ch] = chw[ch * h * w + p]!;
  return { data: hwc, shape: [h, w, c] };
}

/**
 * Top-1 accuracy of an exported model on a dataset split, mapping the model's class names to the dataset's labels
 * by name; images of dataset classes the model does not know are left out.
 * @example const { accuracy, count } = await evaluateExportedModel(clf, loadDataset('fashion-mnist-mini', 'test'));
 */
export async function evaluateExportedModel(clf: ExportedModelRunner, ds: ImageDataset, opts: { batchSize?: number } = {}): Promise<ExportedModelEvaluation> {
  const names = clf.classNames;
  const modelIndexOfLabel = ds.classNames.map((n) => names.indexOf(n));
  const matchedClasses = names.filter((n) => ds.classNames.includes(n));
  if (matchedClasses.length === 0) {
    throw new Error(`none of the model's classes (${names.slice(0, 5).join(', ')}...) is a class of ${ds.name} (${ds.classNames.slice(0, 5).join(', ')}...)`);
  }
  const positions: number[] = [];
  for (let i = 0; i < ds.count; i++) if (modelIndexOfLabel[ds.labels[i]!]! >= 0) positions.push(i);
  const batch = opts.batchSize ?? 256;
  const classes = names.length;
  const hits = new Map<string, { correct: number; count: number }>(matchedClasses.map((n) => [n, { correct: 0, count: 0 }]));
  let correct = 0;
  for (let s = 0; s < positions.length; s += batch) {
    const part = positions.slice(s, s + batch);
    const { probabilities } = await clf.infer(part.map((i) => datasetImage(ds, i)));
    part.forEach((pos, r) => {
      let best = 0;
      for (let k = 1; k < classes; k++) if (probabilities[r * classes + k]! > probabilities[r * classes + best]!) best = k;
      const target = modelIndexOfLabel[ds.labels[pos]!]!;
      const h = hits.get(names[target]!)!;
      h.count++;
      if (best === target) {
        correct++;
        h.correct++;
      }
    });
  }
  const perClass = Object.fromEntries([...hits].map(([n, h]) => [n, { accuracy: h.count ? h.correct / h.count : 0, count: h.count }]));
  return {
    accuracy: positions.length ? correct / positions.length : 0,
    count: positions.length,
    correct,
    matchedClasses,
    unmatchedClasses: names.filter((n) => !ds.classNames.includes(n)),
    perClass,
  };
}
