/**
 * onnx-cil's library API (Node): build and differentiate ONNX training graphs, train, and run class-incremental
 * learning. The app-facing API for loading exported models in Node or browsers is the `onnx-cil/app` entry.
 */
export * from './graph/builder.js';
export * as ops from './graph/ops/index.js';
export { decodeModel, encodeModel, tensorData, makeTensorProto, type ModelProto } from './graph/onnx-proto.js';
export { gradients } from './autodiff/backprop.js';
export { checkGradients, type GradCheckReport } from './autodiff/gradcheck.js';
export { GRAD_RULES } from './autodiff/grads/index.js';
export type { GradRule } from './autodiff/rule.js';
export * from './nn/functional.js';
export * from './nn/heads.js';
export * from './nn/layers.js';
export * from './nn/models.js';
export * from './nn/params.js';
export * from './train/training-graph.js';
export * from './train/session.js';
export * from './train/sgd.js';
export * from './train/schedule.js';
export * from './train/checkpoint.js';
export * from './train/evaluate.js';
export { trainClassifier, TrainConfigSchema, type TrainConfig, type TrainResult, type ModelMeta } from './train/classifier.js';
export { loadDataset, datasetNames, getDatasetSpec } from './data/registry.js';
export { fetchDataset } from './data/fetch.js';
export type { ImageDataset } from './data/dataset.js';
export { createBackend, type BackendOptions, type Device } from './runtime/backend.js';
