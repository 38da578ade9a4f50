/** Progress display: a cli-progress bar on an interactive terminal, periodic plain lines otherwise (CI logs). */
import cliProgress from 'cli-progress';

export interface ProgressPayload {
  [key: string]: string | number;
}

/**
 * A bar with rate and ETA; `update` also takes the payload fields named in `format`.
 * @example const bar = createProgress('epoch {epoch} |{bar}| {value}/{total} | {rate} img/s | ETA {eta_formatted}');
 */
export function createProgress(format: string, opts: { quiet?: boolean } = {}) {
  const tty = process.stderr.isTTY && !opts.quiet;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5 },
        cliProgress.Presets.shades_classic,
      )
    : null;
  // The first plain line comes at the first update (the run is alive), then one every 30 s.
  let lastLine = Number.NEGATIVE_INFINITY;
  let total = 0;
  let started = 0;
  return {
    start(t: number, payload: ProgressPayload = {}) {
      total = t;
      started = performance.now();
      bar?.start(t, 0, payload);
    },
    update(value: number, payload: ProgressPayload = {}) {
      if (bar) return bar.update(value, payload);
      // Without a terminal, a line every 30 s keeps logs readable and shows the run is alive.
      const now = performance.now();
      if (!opts.quiet && now - lastLine > 30_000) {
        lastLine = now;
        const eta = value > 0 ? ((now - started) / value) * (total - value) / 1000 : 0;
        process.stderr.write(`  ${plainLine(format, value, total, `${Math.round(eta)}s`, payload)}\n`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/**
 * The bar's format as a plain log line: the bar itself left out, every {field} filled in (fields carry their units).
 * @example plainLine('epoch {epoch} |{bar}| {value}/{total} | {rate} | ETA {eta_formatted}', 3, 40, '12s', { epoch: '1/5', rate: '812 img/s' });
 * // 'epoch 1/5 | 3/40 | 812 img/s | ETA 12s'
 */
export function plainLine(format: string, value: number, total: number, eta: string, payload: ProgressPayload): string {
  const fields: ProgressPayload = { ...payload, value, total, eta_formatted: eta };
  return format
    .replace(/\s*\|\{bar\}\|\s*/, ' | ')
    .replace(/\{(\w+)\}/g, (whole, key: string) => (key in fields ? String(fields[key]) : whole));
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
