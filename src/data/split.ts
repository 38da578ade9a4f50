/**
 * A stratified, seeded hold-out split of a training set: hyper-parameters are chosen on images carved from the
 * training data, never on the test set.
 */
import { subsetIndices, type ImageDataset } from './dataset.js';
import { SeededRandom } from '../util/rng.js';

/**
 * Splits `ds` into a fitting part and a validation part holding `fraction` of every class's images (rounded, at
 * least one image of every class with two or more), chosen by a seeded shuffle; both keep the dataset's
 * normalisation statistics, so a model trained on one part reads the other exactly as it would the test set.
 * @example const { fit, validation } = stratifiedSplit(train, 0.1, 1); // 10% of each class held out
 */
export function stratifiedSplit(ds: ImageDataset, fraction: number, seed: number): { fit: ImageDataset; validation: ImageDataset } {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`the validation fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  const byClass: number[][] = ds.classNames.map(() => []);
  for (let i = 0; i < ds.count; i++) byClass[ds.labels[i]!]!.push(i);
  const rng = new SeededRandom(seed);
  const fit: number[] = [];
  const validation: number[] = [];
  for (const members of byClass) {
    if (members.length === 0) continue;
    rng.shuffle(members);
    const held = members.length < 2 ? 0 : Math.min(members.length - 1, Math.max(1, Math.round(members.length * fraction)));
    validation.push(...members.slice(0, held));
    fit.push(...members.slice(held));
  }
  // Dataset order inside each part, so batching and evaluation see the images as they would without the split.
  fit.sort((a, b) => a - b);
  validation.sort((a, b) => a - b);
  return {
    fit: { ...subsetIndices(ds, fit, `${ds.name}[fit]`), mean: ds.mean.slice(), std: ds.std.slice() },
    validation: { ...subsetIndices(ds, validation, `${ds.name}[validation]`), mean: ds.mean.slice(), std: ds.std.slice() },
  };
}
