import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scheduleFactor } from '../../src/train/schedule.js';

test('cosine decays from 1 to 0 over the run', () => {
  const s = { kind: 'cosine' } as const;
  assert.equal(scheduleFactor(s, 0, 100), 1);
  assert.ok(Math.abs(scheduleFactor(s, 50, 100) - 0.5) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(s, 100, 100)) < 1e-12);
});

test('multistep multiplies by gamma at each milestone', () => {
  const s = { kind: 'multistep', milestones: [10, 20], gamma: 0.1 } as const;
  assert.equal(scheduleFactor(s, 9, 30), 1);
  assert.ok(Math.abs(scheduleFactor(s, 10, 30) - 0.1) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(s, 25, 30) - 0.01) < 1e-12);
});

test('warm-up ramps linearly to the decayed rate, then hands over', () => {
  const s = { kind: 'cosine', warmup: 4 } as const;
  assert.deepEqual(
    [0, 1, 2].map((i) => scheduleFactor(s, i, 100) / scheduleFactor({ kind: 'cosine' }, i, 100)),
    [0.25, 0.5, 0.75],
  );
  assert.equal(scheduleFactor(s, 4, 100), scheduleFactor({ kind: 'cosine' }, 4, 100));
  assert.equal(scheduleFactor({ kind: 'constant', warmup: 0 }, 0, 10), 1);
});
