/** Repetition timing and robust summaries: the one statistics module of the tools (bench, GPU checks, Conv candidates). */

export interface TimingSummary {
  /** Median of the timed repetitions, ms. */
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  minMs: number;
  reps: number;
}

/**
 * The q-quantile (0..1) of `xs`, linear between order statistics.
 * @example quantile([1, 2, 3, 4], 0.5); // 2.5
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * The median (the mean of the two middle values for an even count).
 * @example median([3, 1, 4, 2]); // 2.5
 */
export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/**
 * Median, p10, p90 and min of durations in ms.
 * @example summarize([10, 11, 30]).medianMs; // 11
 */
export function summarize(ms: readonly number[]): TimingSummary {
  return { medianMs: median(ms), p10Ms: quantile(ms, 0.1), p90Ms: quantile(ms, 0.9), minMs: Math.min(...ms), reps: ms.length };
}

/**
 * Runs `fn` `warmup` times untimed (first-run allocation, kernel selection, JIT), then `reps` times timed.
 * @example const t = await timeRepetitions(() => session.run(feeds), { warmup: 3, reps: 20 });
 */
export async function timeRepetitions(
  fn: () => Promise<unknown>,
  opts: { warmup: number; reps: number; onRep?: (i: number, ms: number) => void },
): Promise<TimingSummary> {
  for (let i = 0; i < opts.warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < opts.reps; i++) {
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    times.push(ms);
    opts.onRep?.(i, ms);
  }
  return summarize(times);
}

/** Peak resident set size of this process so far, in MiB (Linux reports maxRSS in KiB). */
export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
