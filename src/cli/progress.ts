/**
 * Progress display, the only place onnx-cil draws it: a cli-progress bar on an interactive terminal, periodic plain
 * lines otherwise (CI logs). The library reports progress through callbacks; the commands render it here.
 */
import cliProgress from 'cli-progress';
import type { DownloadProgress } from '../data/fetch.js';

export interface ProgressPayload {
  [key: string]: string | number;
}

export interface ProgressOptions {
  /** Draw nothing. */
  quiet?: boolean;
  /** Where to draw; default process.stderr (stdout is reserved for results, e.g. --json). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Draw the bar even when the stream is not a terminal (instead of plain lines). */
  drawWithoutTerminal?: boolean;
}

/** A started progress display: `update` takes the value and the payload fields named in the format. */
export interface Progress {
  /**
   * Starts at `startValue`: work done before the display started, which the ETA must not count as speed (bytes
   * resumed from an earlier attempt; the step that triggered a lazily started bar).
   */
  start(total: number, payload?: ProgressPayload, startValue?: number): void;
  update(value: number, payload?: ProgressPayload): void;
  setTotal(total: number): void;
  stop(): void;
}

/**
 * A bar with rate and ETA; `update` also takes the payload fields named in `format`.
 * @example const bar = createProgress('epoch {epoch} |{bar}| {value}/{total} | {rate} img/s | ETA {eta_formatted}');
 */
export function createProgress(format: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const drawBar = (stream.isTTY || opts.drawWithoutTerminal) && !opts.quiet;
  const bar = drawBar
    ? new cliProgress.SingleBar(
        { format, stream, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5, noTTYOutput: opts.drawWithoutTerminal ?? false },
        cliProgress.Presets.shades_classic,
      )
    : null;
  // The first plain line comes at the first update (the run is alive), then one every 30 s.
  let lastLine = Number.NEGATIVE_INFINITY;
  let total = 0;
  let from = 0;
  let started = 0;
  return {
    start(t, payload = {}, startValue = 0) {
      total = t;
      from = startValue;
      started = performance.now();
      bar?.start(t, startValue, payload);
    },
    update(value, payload = {}) {
      if (bar) return bar.update(value, payload);
      // Without a terminal, a line every 30 s keeps logs readable and shows the run is alive.
      const now = performance.now();
      if (!opts.quiet && now - lastLine > 30_000) {
        lastLine = now;
        // Until some work is counted after start, the rate and so the ETA are unknown, not 0 s.
        const eta = value > from ? `${Math.round((((now - started) / (value - from)) * (total - value)) / 1000)}s` : '–';
        stream.write(`  ${plainLine(format, value, total, eta, payload)}\n`);
      }
    },
    setTotal(t) {
      total = t;
      bar?.setTotal(t);
    },
    stop() {
      bar?.stop();
    },
  };
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * Renders dataset downloads: one bar per file with size, rate and ETA (without a known size, bytes and rate only).
 * Call stop() when the fetch ends, also on failure, to release the terminal line.
 * @example
 * const progress = downloadProgress();
 * await fetchDataset('cifar-100', { onProgress: progress.onProgress }).finally(() => progress.stop());
 */
export function downloadProgress(opts: ProgressOptions = {}): { onProgress: (progress: DownloadProgress) => void; stop(): void } {
  let bar: Progress | null = null;
  let currentFile: string | null = null;
  const stop = () => {
    bar?.stop();
    bar = null;
    currentFile = null;
  };
  const onProgress = (progress: DownloadProgress) => {
    const total = progress.total ?? Math.max(progress.bytes, 1);
    const payload = {
      file: progress.file,
      size: progress.total === null ? '?' : megabytes(progress.total),
      received: megabytes(progress.bytes),
      speed: megabytes(progress.rate),
    };
    if (progress.file !== currentFile || !bar) {
      stop();
      currentFile = progress.file;
      // Without a known size there is no meaningful percentage or ETA.
      const format =
        progress.total === null
          ? '{file} {received} MB | {speed} MB/s'
          : '{file} |{bar}| {percentage}% | {received}/{size} MB | {speed} MB/s | ETA {eta_formatted}';
      bar = createProgress(format, opts);
      bar.start(total, payload, progress.bytes);
    } else {
      // An update without new bytes since the start would show an infinite ETA.
      bar.setTotal(total);
      bar.update(progress.bytes, payload);
    }
    if (progress.done) stop();
  };
  return { onProgress, stop };
}

/**
 * The bar's format as a plain log line: the bar itself left out, every {field} filled in (fields carry their units).
 * @example plainLine('epoch {epoch} |{bar}| {value}/{total} | {rate} | ETA {eta_formatted}', 3, 40, '12s', { epoch: '1/5', rate: '812 img/s' });
 * // 'epoch 1/5 | 3/40 | 812 img/s | ETA 12s'
 */
export function plainLine(format: string, value: number, total: number, eta: string, payload: ProgressPayload): string {
  const percentage = total > 0 ? Math.round((value / total) * 100) : 0;
  const fields: ProgressPayload = { ...payload, value, total, percentage, eta_formatted: eta };
  return format.replace(/\s*\|\{bar\}\|\s*/, ' | ').replace(/\{(\w+)\}/g, (whole, key: string) => (key in fields ? String(fields[key]) : whole));
}

/**
 * The rate field of progress lines, with its unit.
 * @example rateField(811.6); // '812 img/s'
 */
export function rateField(imagesPerSecond: number): string {
  return `${imagesPerSecond.toFixed(0)} img/s`;
}

/** What the loss terms and the rate of the class-incremental progress lines mean; printed once when training starts. */
export const LOSS_LEGEND =
  'legend: loss = weighted sum of the terms in brackets: ce cross-entropy over the classes seen so far, ' +
  "mp cross-entropy averaged over the rotation heads (spb-m), em distance of the normalised features to the previous phase's extractor (distillation), " +
  'in self-supervised loss (spb-i); rates are training images per second (img/s)';

/** Writes a line to stderr (stdout is reserved for results, e.g. --json). */
export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}
