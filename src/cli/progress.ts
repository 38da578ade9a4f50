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
  let lastLine = 0;
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
        const fields = Object.entries(payload).map(([k, v]) => `${k} ${v}`).join(' | ');
        process.stderr.write(`  ${value}/${total} | ${fields} | ETA ${Math.round(eta)}s\n`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
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
