/**
 * The building blocks of the rotation variants against reference code: in-graph rotations (numpy.rot90), shifted
 * views, the app's pixel rotation, and the combination of several heads' predictions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rotatePixels } from '../../src/app/image.js';
import { combineHeads } from '../../src/cil/variants.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { copyOf, fourRotations, rotateByQuarters, rotateQuarter } from '../../src/nn/rotations.js';
import { shiftImage } from '../../src/nn/views.js';
import { referenceRotateBatch, referenceRotation, runGraph, seeded } from './helpers.js';

const [n, c, h] = [2, 3, 5];
const plane = h * h;

test('in-graph rotations equal numpy.rot90 for k = 0..3, one at a time and stacked', async () => {
  const x = seeded(n * c * h * h, 1);
  const g = new GraphBuilder('rotations');
  const xi = g.input('x', 'float32', [n, c, h, h]);
  for (let k = 0; k < 4; k++) g.output(rotateQuarter(xi, k), `r${k}`);
  g.output(fourRotations(xi), 'all');
  const out = await runGraph(g, { x: { data: x, dims: [n, c, h, h] } });
  for (let k = 0; k < 4; k++) {
    assert.deepEqual(Array.from(out[`r${k}`]!.data), Array.from(referenceRotateBatch(x, n, c, h, k)), `rotation ${k}`);
    assert.deepEqual(Array.from(out['all']!.data.subarray(k * x.length, (k + 1) * x.length)), Array.from(referenceRotateBatch(x, n, c, h, k)));
  }
});

test('rotation by quarters turns row i by its label, and a stacked rotation splits back with a dynamic batch', async () => {
  const x = seeded(n * c * h * h, 1);
  const qx = seeded(8 * h * h, 2);
  const g = new GraphBuilder('quarters');
  const q = rotateByQuarters(g.input('q', 'float32', [8, 1, h, h]));
  g.output(q.rotated, 'quarters');
  const dyn = g.input('dyn', 'float32', [-1, c, h, h]);
  g.output(copyOf(fourRotations(dyn), 3, 4), 'copy3');
  const out = await runGraph(g, { q: { data: qx, dims: [8, 1, h, h] }, dyn: { data: x, dims: [n, c, h, h] } });
  assert.deepEqual(Array.from(out['copy3']!.data), Array.from(referenceRotateBatch(x, n, c, h, 3)));
  assert.deepEqual(q.labels, [0, 0, 1, 1, 2, 2, 3, 3]);
  for (let i = 0; i < 8; i++) {
    const expected = referenceRotation(qx.subarray(i * plane, (i + 1) * plane), h, h, q.labels[i]!).data;
    assert.deepEqual(Array.from(out['quarters']!.data.subarray(i * plane, (i + 1) * plane)), Array.from(expected), `row ${i}`);
  }
});

test('a shifted view moves the image and fills with zeros', async () => {
  const x = seeded(n * c * h * h, 1);
  const g = new GraphBuilder('shift');
  g.output(shiftImage(g.input('x', 'float32', [n, c, h, h]), 2, -1), 'shifted');
  const shifted = (await runGraph(g, { x: { data: x, dims: [n, c, h, h] } }))['shifted']!.data;
  // Shift by (2, -1): out[y][x] = in[y-2][x+1], zero outside.
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < h; xx++) {
      const sy = y - 2;
      const sx = xx + 1;
      const want = sy >= 0 && sy < h && sx < h ? x[sy * h + sx]! : 0;
      assert.equal(shifted[y * h + xx], want);
    }
  }
});

test('the app rotates HWC pixels like numpy.rot90', () => {
  const x = seeded(plane, 1);
  // One channel: HWC = CHW.
  const pix = { data: x, width: h, height: h, channels: 1 as const };
  for (let k = 0; k < 4; k++) assert.deepEqual(Array.from(rotatePixels(pix, k).data), Array.from(referenceRotation(x, h, h, k).data));
});

test("head combination is the mean of the heads' softmax probabilities", async () => {
  const g = new GraphBuilder('combine');
  const logits = [0, 1, 2].map((i) => g.input(`l${i}`, 'float32', [2, 3]));
  g.output(combineHeads(logits), 'p');
  const data = [0, 1, 2].map((i) => seeded(6, i + 3).map((v) => v * 4));
  const out = await runGraph(g, Object.fromEntries(data.map((d, i) => [`l${i}`, { data: d, dims: [2, 3] }])));
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < 3; c++) {
      let want = 0;
      for (const d of data) {
        const row = d.subarray(r * 3, r * 3 + 3);
        const m = Math.max(...row);
        want += Math.exp(row[c]! - m) / row.reduce((a, v) => a + Math.exp(v - m), 0) / 3;
      }
      assert.ok(Math.abs(out['p']!.data[r * 3 + c]! - want) < 1e-6);
    }
  }
});
