/**
 * Class-incremental learning: protocols and presets, the learner lifecycle with SPB's phase mechanics, the methods
 * registry, metrics, whole-protocol runs with resume, reports, and adding classes to a trained model.
 */
export * from './checkpoint.js';
export * from './data.js';
export * from './increment.js';
export * from './learner.js';
export * from './losses.js';
export * from './methods/index.js';
export * from './metrics.js';
export * from './protocol.js';
export * from './prototypes.js';
export * from './report.js';
export * from './run.js';
export * from './variants.js';
