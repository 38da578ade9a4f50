/**
 * The data layer: dataset readers, the registry, fetching, seeded shuffling, augmentation,
 * batching and worker-thread prefetching.
 */
export * from './augment.js';
export * from './batches.js';
export * from './cifar.js';
export * from './dataset.js';
export * from './fetch.js';
export * from './gzip.js';
export * from './idx.js';
export * from './locate.js';
export * from './prefetch.js';
export * from './registry.js';
export * from './tar.js';
