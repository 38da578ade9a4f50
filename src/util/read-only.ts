/**
 * Read-only tables. The registries (gradient rules, models, methods, datasets, presets) are shared by every caller in
 * the process, so a change made through one caller would silently alter the results of all the others.
 */

/**
 * A frozen view of `map` without the mutating methods. `Object.freeze(new Map())` is not enough: it freezes the
 * Map object's own properties, while `set`, `delete` and `clear` live on Map.prototype and still change the entries.
 * The view holds the only reference to `map`, so pass a Map nobody else keeps.
 * @example
 * const TABLE = readOnlyMap(new Map([['a', 1]]));
 * TABLE.get('a'); // 1
 * (TABLE as Map<string, number>).set; // undefined
 */
export function readOnlyMap<K, V>(map: ReadonlyMap<K, V>): ReadonlyMap<K, V> {
  const view: ReadonlyMap<K, V> = Object.freeze({
    get size() {
      return map.size;
    },
    get: (key: K) => map.get(key),
    has: (key: K) => map.has(key),
    forEach: (fn: (value: V, key: K, m: ReadonlyMap<K, V>) => void, thisArg?: unknown) =>
      map.forEach((v, k) => {
        fn.call(thisArg, v, k, view);
      }),
    entries: () => map.entries(),
    keys: () => map.keys(),
    values: () => map.values(),
    [Symbol.iterator]: () => map.entries(),
  });
  return view;
}

/**
 * Freezes `value` and every plain object and array reachable from it, in place, and returns it. Maps, Sets and
 * typed arrays cannot be frozen this way (their contents are not properties); wrap Maps with `readOnlyMap`.
 * @example
 * const spec = deepFreeze({ layers: [{ out: 8 }] });
 * Object.isFrozen(spec.layers[0]); // true
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
