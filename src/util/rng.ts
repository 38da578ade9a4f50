/**
 * Seeded random numbers, shared by the data layer (shuffles, augmentation, splits), parameter initialisation and
 * protocol class orders, so every run is reproducible from one seed.
 *
 * Two generators with different jobs:
 * - `SeededRandom` (xoshiro128**): fast, small state, used for epoch shuffles and augmentation.
 * - `MT19937` plus `numpyLegacyPermutation`: a bit-exact copy of numpy's legacy
 *   `numpy.random.seed(s); numpy.random.permutation(n)`, so class orders match the published
 *   class-incremental benchmarks (which almost all use `seed 1993` through numpy).
 */

const UINT32_RANGE = 0x1_0000_0000;

/**
 * splitmix32 step: spreads nearby seeds (0, 1, 2, ...) over the whole state space so that
 * xoshiro never starts from a low-entropy or all-zero state.
 */
function splitmix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Mixes several integers into one 32-bit seed, so independent streams (per epoch, per batch)
 * can be derived from one user seed without the streams overlapping in practice.
 *
 * @example
 * const batchSeed = deriveSeed(42, epoch, batchIndex);
 * const rng = new SeededRandom(batchSeed);
 */
export function deriveSeed(...parts: number[]): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    if (!Number.isInteger(part)) throw new Error(`deriveSeed: parts must be integers, got ${part}`);
    // Split into two 32-bit halves so seeds above 2^32 still influence the result.
    const low = part >>> 0;
    const high = Math.floor(part / UINT32_RANGE) >>> 0;
    for (const word of [low, high]) {
      hash = Math.imul(hash ^ word, 0x01000193);
      hash ^= hash >>> 15;
      hash = Math.imul(hash, 0x2c1b3c6d);
      hash ^= hash >>> 12;
    }
  }
  return hash >>> 0;
}

/**
 * A seeded xoshiro128** generator. Deterministic across platforms and Node versions
 * (only 32-bit integer arithmetic).
 *
 * @example
 * const rng = new SeededRandom(1993);
 * const coin = rng.nextFloat() < 0.5;
 * const die = rng.nextInt(6) + 1;
 * rng.shuffle(indices);
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`SeededRandom: seed must be an integer, got ${seed}`);
    const mixer = { value: deriveSeed(seed) | 0 };
    this.s0 = splitmix32(mixer);
    this.s1 = splitmix32(mixer);
    this.s2 = splitmix32(mixer);
    this.s3 = splitmix32(mixer);
  }

  /**
   * Next uniformly distributed unsigned 32-bit integer.
   *
   * @example
   * const word = new SeededRandom(1).nextUint32(); // 0 <= word < 2**32
   */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * Uniform float in [0, 1) with 32 bits of randomness.
   *
   * @example
   * if (new SeededRandom(7).nextFloat() < 0.5) flip();
   */
  nextFloat(): number {
    return this.nextUint32() / UINT32_RANGE;
  }

  /**
   * Unbiased uniform integer in [0, n), for 1 <= n <= 2**32.
   *
   * @example
   * const offset = new SeededRandom(3).nextInt(9) - 4; // -4..4
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > UINT32_RANGE) {
      throw new Error(`SeededRandom.nextInt: n must be an integer in [1, 2^32], got ${n}`);
    }
    // Reject the lowest (2^32 mod n) values so every residue is equally likely.
    const threshold = (UINT32_RANGE - n) % n;
    for (;;) {
      const value = this.nextUint32();
      if (value >= threshold) return value % n;
    }
  }

  /**
   * Fisher-Yates shuffle in place; returns the same array for chaining.
   *
   * @example
   * const order = new SeededRandom(5).shuffle(Int32Array.from({ length: 10 }, (_, i) => i));
   */
  shuffle<T extends { length: number; [index: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const held = array[i];
      array[i] = array[j];
      array[j] = held;
    }
    return array;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const MT_N = 624;
const MT_M = 397;
const MT_MATRIX_A = 0x9908b0df;
const MT_UPPER_MASK = 0x80000000;
const MT_LOWER_MASK = 0x7fffffff;

/**
 * The Mersenne Twister MT19937 exactly as numpy's legacy `RandomState` runs it.
 *
 * @example
 * const mt = MT19937.fromNumpySeed(1993);
 * const word = mt.nextUint32();
 */
export class MT19937 {
  private readonly state = new Uint32Array(MT_N);
  private position = MT_N;

  private constructor() {}

  /**
   * Seeds like numpy's legacy `numpy.random.seed(seed)` for an integer seed, which calls
   * `init_genrand(seed)` (Matsumoto & Nishimura's reference seeding), not `init_by_array`.
   *
   * @example
   * const mt = MT19937.fromNumpySeed(1993);
   */
  static fromNumpySeed(seed: number): MT19937 {
    if (!Number.isInteger(seed) || seed < 0 || seed >= UINT32_RANGE) {
      throw new Error(`numpy legacy seeds must be integers in [0, 2^32 - 1], got ${seed}`);
    }
    const mt = new MT19937();
    mt.initGenrand(seed);
    return mt;
  }

  /**
   * Seeds with the reference `init_by_array` (what numpy uses for array seeds such as `seed([1, 2])`).
   *
   * @example
   * const mt = MT19937.fromKeyArray([0x123, 0x234, 0x345, 0x456]);
   */
  static fromKeyArray(key: ArrayLike<number>): MT19937 {
    if (key.length === 0) throw new Error('MT19937.fromKeyArray: the key must not be empty');
    const mt = new MT19937();
    mt.initByArray(key);
    return mt;
  }

  private initGenrand(seed: number): void {
    const mt = this.state;
    mt[0] = seed >>> 0;
    for (let i = 1; i < MT_N; i++) {
      const previous = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, previous) + i) >>> 0;
    }
    this.position = MT_N;
  }

  private initByArray(key: ArrayLike<number>): void {
    const mt = this.state;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(MT_N, key.length); k > 0; k--) {
      const previous = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(previous, 1664525)) + (key[j]! >>> 0) + j) >>> 0;
      i++;
      j++;
      if (i >= MT_N) {
        mt[0] = mt[MT_N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = MT_N - 1; k > 0; k--) {
      const previous = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(previous, 1566083941)) - i) >>> 0;
      i++;
      if (i >= MT_N) {
        mt[0] = mt[MT_N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.position = MT_N;
  }

  private regenerate(): void {
    const mt = this.state;
    let kk = 0;
    for (; kk < MT_N - MT_M; kk++) {
      const y = (mt[kk]! & MT_UPPER_MASK) | (mt[kk + 1]! & MT_LOWER_MASK);
      mt[kk] = mt[kk + MT_M]! ^ (y >>> 1) ^ (y & 1 ? MT_MATRIX_A : 0);
    }
    for (; kk < MT_N - 1; kk++) {
      const y = (mt[kk]! & MT_UPPER_MASK) | (mt[kk + 1]! & MT_LOWER_MASK);
      mt[kk] = mt[kk + (MT_M - MT_N)]! ^ (y >>> 1) ^ (y & 1 ? MT_MATRIX_A : 0);
    }
    const y = (mt[MT_N - 1]! & MT_UPPER_MASK) | (mt[0]! & MT_LOWER_MASK);
    mt[MT_N - 1] = mt[MT_M - 1]! ^ (y >>> 1) ^ (y & 1 ? MT_MATRIX_A : 0);
    this.position = 0;
  }

  /**
   * Next tempered 32-bit output (numpy's `next_uint32` / the reference `genrand_int32`).
   *
   * @example
   * MT19937.fromNumpySeed(5489).nextUint32(); // 3499211612, the reference first output
   */
  nextUint32(): number {
    if (this.position >= MT_N) this.regenerate();
    let y = this.state[this.position++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Uniform integer in [0, max] by masked rejection, numpy's legacy `rk_interval` /
   * `random_interval` for `max < 2^32` (the only case permutations of array indices need).
   *
   * @example
   * const j = MT19937.fromNumpySeed(1).interval(9); // 0..9 inclusive
   */
  interval(max: number): number {
    if (!Number.isInteger(max) || max < 0 || max >= UINT32_RANGE) {
      throw new Error(`MT19937.interval: max must be an integer in [0, 2^32 - 1], got ${max}`);
    }
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const value = (this.nextUint32() & mask) >>> 0;
      if (value <= max) return value;
    }
  }
}

/**
 * Bit-exact `numpy.random.seed(seed); numpy.random.permutation(n)` (legacy RandomState).
 *
 * @example
 * numpyLegacyPermutation(10, 1993); // Int32Array [4, 2, 7, 6, 0, 3, 5, 8, 9, 1]
 */
export function numpyLegacyPermutation(n: number, seed: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new Error(`numpyLegacyPermutation: n must be a non-negative integer, got ${n}`);
  const mt = MT19937.fromNumpySeed(seed);
  const result = new Int32Array(n);
  for (let i = 0; i < n; i++) result[i] = i;
  // numpy's legacy shuffle walks from the end, drawing j in [0, i] for i = n-1 .. 1.
  for (let i = n - 1; i > 0; i--) {
    const j = mt.interval(i);
    const held = result[i]!;
    result[i] = result[j]!;
    result[j] = held;
  }
  return result;
}
