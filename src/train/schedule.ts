/** Learning-rate schedules, evaluated per iteration and fed to the graph (no rebuild when the rate changes). */

export type Schedule = ({ kind: 'constant' } | { kind: 'multistep'; milestones: readonly number[]; gamma: number } | { kind: 'cosine'; minFactor?: number }) & {
  /** Iterations of linear warm-up from base/warmup to base (a fresh network at lr 0.1 with momentum 0.9 starts unstably). */
  warmup?: number;
};

/**
 * Multiplier of the base rate at `iteration` of `total` (milestones are iterations).
 * @example const lr = base * scheduleFactor({ kind: 'multistep', milestones: [300], gamma: 0.1 }, it, total);
 */
export function scheduleFactor(schedule: Schedule, iteration: number, total: number): number {
  const warmup = schedule.warmup ?? 0;
  const ramp = iteration < warmup ? (iteration + 1) / warmup : 1;
  return ramp * decayFactor(schedule, iteration, total);
}

function decayFactor(schedule: Schedule, iteration: number, total: number): number {
  switch (schedule.kind) {
    case 'constant':
      return 1;
    case 'multistep':
      return schedule.gamma ** schedule.milestones.filter((m) => iteration >= m).length;
    case 'cosine': {
      const min = schedule.minFactor ?? 0;
      return min + (1 - min) * 0.5 * (1 + Math.cos((Math.PI * Math.min(iteration, total)) / Math.max(1, total)));
    }
  }
}
