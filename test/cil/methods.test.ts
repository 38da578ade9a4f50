/**
 * What each method declares beyond its training: the readout its exported models compute (and so how an app adds
 * classes to them) and the method `increment` continues its checkpoints with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { incrementMethod, METHODS, resolveMethod } from '../../src/cil/methods/index.js';

test("a method's readout follows its policy: its variant's classifier heads, or its class statistics", () => {
  const heads = (name: string, config: Record<string, unknown> = {}) => {
    const { readout } = resolveMethod(name, config);
    assert.equal(readout.kind, 'classifier', name);
    return readout.kind === 'classifier' ? readout.heads.map((h) => [h.prefix, h.rotation]) : [];
  };
  for (const name of ['spb', 'ft', 'proto', 'joint', 'spb-i']) assert.deepEqual(heads(name), [['fc', 0]], name);
  assert.deepEqual(heads('spb-m'), [
    ['fc', 0],
    ['fc_rot1', 1],
    ['fc_rot2', 2],
    ['fc_rot3', 3],
  ]);
  assert.deepEqual(heads('spb-m', { rotations: 2 }), [
    ['fc', 0],
    ['fc_rot1', 1],
  ]);
  assert.deepEqual(resolveMethod('gauss', { priorStrength: 3, shrinkage: 0.5 }).readout, {
    kind: 'mahalanobis',
    shrinkage: { priorStrength: 3, shrinkage: 0.5 },
  });
  assert.deepEqual(
    [...METHODS.keys()].filter((name) => resolveMethod(name).readout.kind === 'mahalanobis'),
    [...METHODS.keys()].filter((name) => resolveMethod(name).policy.classStatistics),
  );
});

test('increment continues a checkpoint with its own method and config, or with the method it names', () => {
  const spbM = incrementMethod('spb-m', { rotations: 2 });
  assert.equal(spbM.method.name, 'spb-m');
  assert.equal(spbM.config['rotations'], 2);
  const gauss = incrementMethod('gauss', { priorStrength: 3, shrinkage: 0.5 });
  assert.equal(gauss.method.name, 'gauss');
  assert.equal(gauss.policy.trainsLaterPhases, false, 'a gauss increment trains nothing');
  assert.deepEqual(gauss.policy.classStatistics, { priorStrength: 3, shrinkage: 0.5 });
  for (const name of ['ft', 'proto', 'joint']) {
    const next = incrementMethod(name, {});
    assert.equal(next.method.name, 'spb', name);
    assert.deepEqual(next.config, resolveMethod('spb').config, `${name}: SPB with its defaults`);
  }
  // Every method named for increment is one that continues its own checkpoints.
  for (const method of METHODS.values()) {
    if (method.incrementWith === undefined) continue;
    assert.ok(METHODS.has(method.incrementWith), `${method.name} names an unknown method`);
    assert.equal(
      METHODS.get(method.incrementWith)!.incrementWith,
      undefined,
      `${method.name} names ${method.incrementWith}, which hands its checkpoints on again`,
    );
  }
  assert.throws(() => incrementMethod('lwf', {}), /unknown method "lwf"/);
});
