/** Exported inference models: building them from checkpoints, and their metadata contract. */
export * from './export-model.js';
export * from './fold-batch-norm.js';
export * from './metadata.js';
export * from './resolve-checkpoint.js';
