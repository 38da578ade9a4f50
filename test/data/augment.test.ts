import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Augmenter, NO_AUGMENTATION } from '../../src/data/augment.js';
import { SeededRandom } from '../../src/util/rng.js';
import { syntheticDataset } from './helpers.js';

const ds = syntheticDataset({ count: 6, channels: 3, height: 5, width: 7, classes: 3 });
const size = ds.channels * ds.height * ds.width;

/** Straightforward reference: pad with raw zeros, cut at the shift, mirror, then scale. */
function reference(image: Uint8Array, shiftY: number, shiftX: number, mirror: boolean, scale: (c: number, v: number) => number): number[] {
  const out: number[] = [];
  for (let c = 0; c < ds.channels; c++) {
    for (let y = 0; y < ds.height; y++) {
      for (let x = 0; x < ds.width; x++) {
        const croppedX = mirror ? ds.width - 1 - x : x;
        const sy = y + shiftY;
        const sx = croppedX + shiftX;
        const inside = sy >= 0 && sy < ds.height && sx >= 0 && sx < ds.width;
        out.push(scale(c, inside ? image[(c * ds.height + sy) * ds.width + sx]! : 0));
      }
    }
  }
  return out;
}

const normalised = (c: number, v: number) => Math.fround((v / 255 - ds.mean[c]!) / ds.std[c]!);

test('every shift and flip matches the pad-crop-mirror reference', () => {
  const augmenter = new Augmenter(ds, { padding: 3, flip: true });
  const image = ds.images.subarray(2 * size, 3 * size);
  const out = new Float32Array(size);
  for (let shiftY = -6; shiftY <= 6; shiftY++) {
    for (let shiftX = -8; shiftX <= 8; shiftX++) {
      for (const mirror of [false, true]) {
        augmenter.transformImage(ds.images, 2 * size, out, 0, shiftY, shiftX, mirror);
        assert.deepEqual(Array.from(out), reference(image, shiftY, shiftX, mirror, normalised), `shift ${shiftY},${shiftX} mirror ${mirror}`);
      }
    }
  }
});

test('zero shift without flip is the normalised image (pad-then-crop identity)', () => {
  const out = new Float32Array(size);
  new Augmenter(ds, { padding: 4 }).transformImage(ds.images, 0, out, 0, 0, 0, false);
  for (let c = 0; c < ds.channels; c++) {
    for (let p = 0; p < ds.height * ds.width; p++) {
      const i = c * ds.height * ds.width + p;
      assert.equal(out[i], normalised(c, ds.images[i]!));
    }
  }
});

test('flipping twice gives back the original image', () => {
  const augmenter = new Augmenter(ds, { flip: true, normalize: false });
  const once = new Float32Array(size);
  augmenter.transformImage(ds.images, size, once, 0, 0, 0, true);
  const onceBytes = Uint8Array.from(once, (v) => Math.round(v * 255));
  assert.notDeepEqual(onceBytes, ds.images.subarray(size, 2 * size));
  const twice = new Float32Array(size);
  augmenter.transformImage(onceBytes, 0, twice, 0, 0, 0, true);
  assert.deepEqual(
    Uint8Array.from(twice, (v) => Math.round(v * 255)),
    ds.images.subarray(size, 2 * size),
  );
});

test('normalisation maps 0 and 255 per channel; normalize:false scales to [0,1]', () => {
  const augmenter = new Augmenter(ds);
  for (let c = 0; c < ds.channels; c++) {
    assert.equal(augmenter.pixelTable[c * 256], Math.fround(-ds.mean[c]! / ds.std[c]!));
    assert.equal(augmenter.pixelTable[c * 256 + 255], Math.fround((1 - ds.mean[c]!) / ds.std[c]!));
  }
  const plain = new Augmenter(ds, { normalize: false });
  assert.equal(plain.pixelTable[255], 1);
  assert.equal(plain.pixelTable[2 * 256 + 51], Math.fround(0.2));
  // Padding is black before normalisation, as with torchvision's RandomCrop then Normalize.
  const out = new Float32Array(size);
  augmenter.transformImage(ds.images, 0, out, 0, -ds.height, 0, false);
  assert.equal(out[0], Math.fround(-ds.mean[0]! / ds.std[0]!));
  assert.equal(out[size - 1], Math.fround(-ds.mean[2]! / ds.std[2]!));
});

test('augmentBatch: seeded, reproducible, and every image is one of the allowed crops/flips', () => {
  const augmenter = new Augmenter(ds, { padding: 2, flip: true });
  const indices = Int32Array.of(5, 0, 3, 3, 1);
  const run = (seed: number) => {
    const out = new Float32Array(indices.length * size);
    augmenter.augmentBatch(ds.images, indices, new SeededRandom(seed), out);
    return out;
  };
  const first = run(11);
  assert.deepEqual(run(11), first);
  assert.notDeepEqual(run(12), first);
  const used = new Set<string>();
  for (let i = 0; i < indices.length; i++) {
    const image = ds.images.subarray(indices[i]! * size, (indices[i]! + 1) * size);
    const actual = Array.from(first.subarray(i * size, (i + 1) * size));
    const shifts = [-2, -1, 0, 1, 2];
    const candidates = shifts.flatMap((dy) => shifts.flatMap((dx) => [false, true].map((m) => [dy, dx, m] as const)));
    const match = candidates.find(([dy, dx, m]) => JSON.stringify(reference(image, dy, dx, m, normalised)) === JSON.stringify(actual));
    assert.ok(match, `image ${i} is not a crop within the padding`);
    used.add(match.join());
  }
  assert.ok(used.size > 1, 'random draws should not all pick the same crop');
});

test('no augmentation needs no generator; random augmentation without one is an error', () => {
  const out = new Float32Array(2 * size);
  new Augmenter(ds, NO_AUGMENTATION).augmentBatch(ds.images, [1, 4], null, out);
  assert.equal(out[size], normalised(0, ds.images[4 * size]!));
  assert.throws(() => new Augmenter(ds, { flip: true }).augmentBatch(ds.images, [0], null, out), /needs a SeededRandom/);
  assert.throws(() => new Augmenter(ds).augmentBatch(ds.images, [6], null, out), /image index 6 is outside 0\.\.5/);
  assert.throws(() => new Augmenter(ds).augmentBatch(ds.images, [0, 1, 2], null, out), /output holds 210 floats, 3 images need 315/);
  assert.throws(() => new Augmenter(ds, { padding: -1 }), /non-negative integer/);
});
