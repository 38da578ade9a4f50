/**
 * Builds upcoming training batches in worker threads while the main thread is blocked in
 * onnxruntime's synchronous `session.run`.
 *
 * The dataset's pixels live on a SharedArrayBuffer, so workers read them without a copy; finished
 * batches come back as transferred buffers. Batch contents depend only on (plan, batch index), so
 * worker and in-thread (`workers: 0`) modes yield identical batches.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Augmenter, NO_AUGMENTATION } from './augment.js';
import { makePlannedBatch, type Batch, type BatchPlan } from './batches.js';
import { allocateSharedBytes, type ImageDataset } from './dataset.js';

export interface PrefetchOptions {
  /** Worker threads building batches; 0 builds each batch in this thread when it is asked for. Default 1. */
  workers?: number;
  /** Batches requested ahead of the one being consumed. Default 2. */
  depth?: number;
}

/** What a worker receives once, at start-up. */
export interface PrefetchWorkerData {
  dataset: ImageDataset;
  plan: BatchPlan;
}

/** Main thread -> worker. */
export interface BuildBatchRequest {
  type: 'build';
  batchIndex: number;
}

/** Worker -> main thread. */
export type PrefetchWorkerReply = { type: 'batch'; batchIndex: number; batch: Batch } | { type: 'error'; batchIndex: number; message: string };

interface PendingBatch {
  resolve(batch: Batch): void;
  reject(error: Error): void;
}

const moduleExtension = extname(fileURLToPath(import.meta.url));

/** The worker script beside this module, with this module's extension (`.ts` under tsx, `.js` from dist/). */
const WORKER_URL = new URL(`./prefetch-worker${moduleExtension}`, import.meta.url);

/**
 * Source for an `eval` worker that loads the worker script. From compiled JS it is a plain import.
 * From TS source (tsx) it first registers tsx inside the worker: on Node 20, loader hooks from the
 * inherited `--import tsx` flag do not apply to a worker's modules, so the worker would fail with
 * "Unknown file extension .ts" (nodejs/node#47747).
 */
function workerBootstrapSource(): string {
  const workerModule = JSON.stringify(WORKER_URL.href);
  if (moduleExtension !== '.ts') return `import(${workerModule});`;
  const tsxApi = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `import(${tsxApi}).then(({ register }) => { register(); return import(${workerModule}); });`;
}

/** A structured-clone-friendly copy of the dataset whose pixels are on a SharedArrayBuffer. */
function shareableDataset(ds: ImageDataset): ImageDataset {
  let images = ds.images;
  if (!(images.buffer instanceof SharedArrayBuffer)) {
    images = allocateSharedBytes(ds.images.length);
    images.set(ds.images);
  }
  return {
    name: ds.name,
    images,
    labels: ds.labels,
    count: ds.count,
    channels: ds.channels,
    height: ds.height,
    width: ds.width,
    classNames: ds.classNames,
    mean: ds.mean,
    std: ds.std,
  };
}

/**
 * Yields the batches of a plan in order, built ahead of time by worker threads (or in-thread with `workers: 0`).
 * Finishing the iteration, breaking out of `for await`, or `close()` stops the workers.
 *
 * @example
 * const plan = planEpoch(train, { batchSize: 128, seed: 1993, epoch, augment: { padding: 4, flip: true } });
 * const prefetcher = new BatchPrefetcher(train, plan, { workers: 1, depth: 2 });
 * try {
 *   for await (const batch of prefetcher) session.run(feedsFor(batch));
 * } finally {
 *   await prefetcher.close();
 * }
 */
export class BatchPrefetcher implements AsyncIterableIterator<Batch> {
  readonly batchCount: number;
  private readonly dataset: ImageDataset;
  private readonly plan: BatchPlan;
  private readonly depth: number;
  private readonly workers: Worker[] = [];
  private inThreadAugmenter: Augmenter | null = null;
  private readonly finished = new Map<number, Batch>();
  private readonly pending = new Map<number, PendingBatch>();
  private nextToYield = 0;
  private nextToRequest = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(dataset: ImageDataset, plan: BatchPlan, options: PrefetchOptions = {}) {
    const workerCount = options.workers ?? 1;
    const depth = options.depth ?? 2;
    if (!Number.isInteger(workerCount) || workerCount < 0) throw new Error(`prefetch workers must be an integer >= 0, got ${workerCount}`);
    if (!Number.isInteger(depth) || depth < 1) throw new Error(`prefetch depth must be an integer >= 1, got ${depth}`);
    this.dataset = dataset;
    this.plan = plan;
    this.depth = depth;
    this.batchCount = plan.batches.length;
    if (workerCount === 0 || this.batchCount === 0) {
      this.inThreadAugmenter = new Augmenter(dataset, plan.augment ?? NO_AUGMENTATION);
      return;
    }
    const workerData: PrefetchWorkerData = { dataset: shareableDataset(dataset), plan };
    const bootstrap = workerBootstrapSource();
    for (let w = 0; w < Math.min(workerCount, this.batchCount); w++) {
      const worker = new Worker(bootstrap, { eval: true, workerData, name: `onnx-cil-prefetch-${w}` });
      worker.on('message', (reply: PrefetchWorkerReply) => this.onReply(reply));
      worker.on('error', (error) => this.fail(new Error(`batch prefetch worker failed: ${error.message}`, { cause: error })));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`batch prefetch worker exited unexpectedly with code ${code}`));
      });
      this.workers.push(worker);
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next batch of the plan, in plan order.
   *
   * @example
   * const { value: firstBatch } = await prefetcher.next();
   */
  async next(): Promise<IteratorResult<Batch, undefined>> {
    if (this.failure) throw this.failure;
    if (this.closed || this.nextToYield >= this.batchCount) {
      await this.close();
      return { done: true, value: undefined };
    }
    const batchIndex = this.nextToYield++;
    if (this.inThreadAugmenter) {
      return { done: false, value: makePlannedBatch(this.dataset, this.plan, batchIndex, this.inThreadAugmenter) };
    }
    this.requestAhead();
    const ready = this.finished.get(batchIndex);
    if (ready) {
      this.finished.delete(batchIndex);
      return { done: false, value: ready };
    }
    const batch = await new Promise<Batch>((resolve, reject) => this.pending.set(batchIndex, { resolve, reject }));
    return { done: false, value: batch };
  }

  /**
   * Called by `break` / `return` inside `for await`: stops the workers.
   *
   * @example
   * for await (const batch of prefetcher) if (diverged(batch)) break; // workers stop here
   */
  async return(): Promise<IteratorResult<Batch, undefined>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /**
   * Stops the worker threads; batches not yet consumed are dropped. Safe to call more than once.
   *
   * @example
   * await prefetcher.close();
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Error('batch prefetcher was closed');
    for (const waiter of this.pending.values()) waiter.reject(stopped);
    this.pending.clear();
    this.finished.clear();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /** Keeps `depth` batches beyond the one being consumed in flight, spread over the workers round-robin. */
  private requestAhead(): void {
    while (this.nextToRequest < this.batchCount && this.nextToRequest - this.nextToYield < this.depth) {
      const batchIndex = this.nextToRequest++;
      const request: BuildBatchRequest = { type: 'build', batchIndex };
      // Only worker mode requests batches, and it starts at least one worker.
      this.workers[batchIndex % this.workers.length]!.postMessage(request);
    }
  }

  private onReply(reply: PrefetchWorkerReply): void {
    if (this.closed) return;
    if (reply.type === 'error') {
      this.fail(new Error(`batch ${reply.batchIndex} failed in the prefetch worker: ${reply.message}`));
      return;
    }
    const waiter = this.pending.get(reply.batchIndex);
    if (waiter) {
      this.pending.delete(reply.batchIndex);
      waiter.resolve(reply.batch);
    } else {
      this.finished.set(reply.batchIndex, reply.batch);
    }
  }

  private fail(error: Error): void {
    if (this.closed || this.failure) return;
    this.failure = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    void this.close();
  }
}
