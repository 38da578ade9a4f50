/**
 * The registries are shared by every caller in the process; none of them, nor the entries they hold, can be changed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRAD_RULES } from '../../src/autodiff/grads/index.js';
import { METHODS } from '../../src/cil/methods/index.js';
import { loadProtocol, protocolPresets } from '../../src/cil/protocol.js';
import { DATASETS } from '../../src/data/registry.js';
import { MODEL_REGISTRY } from '../../src/nn/models.js';
import { deepFreeze, readOnlyMap } from '../../src/util/read-only.js';

/** Every way to change a Map's entries fails (or does not exist), and the entries stay as they were. */
function assertUnchangeable<K, V>(name: string, table: ReadonlyMap<K, V>): void {
  const before = [...table.entries()];
  assert.ok(before.length > 0, `${name} is empty`);
  const [firstKey, firstValue] = before[0]!;
  const asMap = table as unknown as Map<K, V>;
  assert.equal(typeof asMap.set, 'undefined', `${name}.set exists`);
  assert.equal(typeof asMap.delete, 'undefined', `${name}.delete exists`);
  assert.equal(typeof asMap.clear, 'undefined', `${name}.clear exists`);
  // Map.prototype's methods applied to the view find no Map inside it.
  assert.throws(() => Map.prototype.set.call(asMap, firstKey, firstValue), TypeError, `${name}: Map.prototype.set`);
  assert.throws(() => Map.prototype.delete.call(asMap, firstKey), TypeError, `${name}: Map.prototype.delete`);
  assert.throws(() => Map.prototype.clear.call(asMap), TypeError, `${name}: Map.prototype.clear`);
  assert.throws(() => Object.assign(asMap, { get: () => undefined }), TypeError, `${name}: replacing get`);
  assert.throws(() => Object.defineProperty(asMap, 'size', { value: 0 }), TypeError, `${name}: redefining size`);
  assert.deepEqual([...table.entries()], before, `${name} changed`);
  assert.equal(new Map(table).size, table.size, `${name} does not iterate like a Map`);
}

test('readOnlyMap reads like the Map it wraps and offers no way to change it', () => {
  const view = readOnlyMap(
    new Map([
      ['a', 1],
      ['b', 2],
    ]),
  );
  assert.equal(view.get('a'), 1);
  assert.equal(view.has('b'), true);
  assert.equal(view.has('c'), false);
  assert.equal(view.size, 2);
  assert.deepEqual([...view.keys()], ['a', 'b']);
  assert.deepEqual([...view.values()], [1, 2]);
  assert.deepEqual(
    [...view],
    [
      ['a', 1],
      ['b', 2],
    ],
  );
  const seen: [string, number, boolean][] = [];
  view.forEach((value, key, map) => {
    seen.push([key, value, map === view]);
  });
  assert.deepEqual(seen, [
    ['a', 1, true],
    ['b', 2, true],
  ]);
  assertUnchangeable('readOnlyMap', view);
  // What the view replaces: a frozen Map still changes through its own methods.
  const frozen = Object.freeze(new Map([['a', 1]]));
  frozen.set('a', 2);
  assert.equal(frozen.get('a'), 2);
});

test('deepFreeze freezes nested objects and arrays and leaves typed arrays alone', () => {
  const spec = deepFreeze({ layers: [{ out: 8 }], scale: new Float32Array([1, 2]), run: () => 1 });
  assert.ok(Object.isFrozen(spec));
  assert.ok(Object.isFrozen(spec.layers));
  assert.ok(Object.isFrozen(spec.layers[0]));
  assert.throws(() => (spec.layers as { out: number }[]).push({ out: 1 }), TypeError);
  assert.throws(() => {
    (spec.layers[0] as { out: number }).out = 9;
  }, TypeError);
  assert.equal(spec.run(), 1);
});

test('the gradient, model, method and preset registries cannot be changed', () => {
  assertUnchangeable('GRAD_RULES', GRAD_RULES);
  assertUnchangeable('MODEL_REGISTRY', MODEL_REGISTRY);
  assertUnchangeable('METHODS', METHODS);
  assertUnchangeable('protocolPresets()', protocolPresets());
});

test('the entries of the registries cannot be changed either', () => {
  const convnet = MODEL_REGISTRY.get('convnet')!;
  assert.equal(convnet.family, 'plain');
  assert.throws(() => {
    (convnet as { name: string }).name = 'other';
  }, TypeError);
  assert.throws(() => (convnet.family === 'plain' ? convnet.layers : []).push({ out: 1, kernel: 1, stride: 1, relu: true }), TypeError);

  const spb = METHODS.get('spb')!;
  assert.throws(() => Object.assign(spb, { policy: () => ({}) }), TypeError);

  const preset = protocolPresets().get('fmnist-mini-b5-p5')!;
  assert.throws(() => {
    (preset as { seed: number }).seed = 2;
  }, TypeError);
  assert.throws(() => {
    (preset.schedules.base as { epochs: number }).epochs = 1;
  }, TypeError);
  // loadProtocol hands out copies that callers may change.
  const copy = loadProtocol('fmnist-mini-b5-p5');
  copy.seed = 2;
  assert.equal(protocolPresets().get('fmnist-mini-b5-p5')!.seed, preset.seed);

  assert.throws(() => {
    (DATASETS as Record<string, unknown>)['mnist'] = DATASETS['fashion-mnist'];
  }, TypeError);
  assert.throws(() => (DATASETS['cifar-100']!.classNames as string[]).push('dragon'), TypeError);
});
