/** Exported inference models: building them from checkpoints (backbone and readout), and their metadata contract. */
export * from './export-model.js';
export * from './fold-batch-norm.js';
export * from './metadata.js';
export * from './readouts.js';
export * from './resolve-checkpoint.js';
