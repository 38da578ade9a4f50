/**
 * Worker-thread side of BatchPrefetcher: builds the requested batches of one plan and transfers them back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Augmenter, NO_AUGMENTATION } from './augment.js';
import { makePlannedBatch } from './batches.js';
import type { BuildBatchRequest, PrefetchWorkerData, PrefetchWorkerReply } from './prefetch.js';

if (!parentPort) throw new Error('prefetch-worker must be started by BatchPrefetcher as a worker thread');
const port = parentPort;
const { dataset, plan } = workerData as PrefetchWorkerData;
const augmenter = new Augmenter(dataset, plan.augment ?? NO_AUGMENTATION);

port.on('message', (request: BuildBatchRequest) => {
  let reply: PrefetchWorkerReply;
  try {
    const batch = makePlannedBatch(dataset, plan, request.batchIndex, augmenter);
    reply = { type: 'batch', batchIndex: request.batchIndex, batch };
    port.postMessage(reply, [batch.x.buffer, batch.y.buffer, batch.indices.buffer]);
  } catch (error) {
    reply = { type: 'error', batchIndex: request.batchIndex, message: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
