/**
 * The browser demo end to end in real headless Chromium (Debian's `chromium`, driven by playwright-core): the demo
 * is built with Vite, served from 127.0.0.1, loads an exported model, and must give the same top-1 labels and
 * probabilities (within 1e-4) as onnxruntime-node for the same images, also after adding a class in the page, for
 * a model with a cosine classifier and for one with the Mahalanobis readout of Gaussian class statistics.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadClassifier } from '../../src/app/node.js';
import { classifierWeight, mahalanobisStatistics } from '../../src/app/model-edit.js';
import { loadDataset } from '../../src/data/registry.js';
import { exportModel } from '../../src/export/index.js';
import { decodeModel } from '../../src/graph/onnx-proto.js';
import { CHROMIUM_SKIP, launchChromium, grayConvnetFixture, makeCheckpoint, withClassStatistics, type FixtureOptions, type DemoWindow } from './helpers.js';

const skip = CHROMIUM_SKIP;
if (skip) console.log(`# browser end-to-end test skipped: ${skip}`);

const FMNIST = loadDataset('fashion-mnist-mini', 'test');
const IMAGES = [0, 1, 2, 3, 4, 100, 200, 300, 400, 500, 600, 700].map((i) => ({ index: i, rgba: rgbaOf(i) }));

/** Test image `i` as canvas-style RGBA bytes (gray replicated, opaque). */
function rgbaOf(i: number): number[] {
  const out: number[] = [];
  for (const v of FMNIST.images.subarray(i * 784, (i + 1) * 784)) out.push(v, v, v, 255);
  return out;
}

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
};

function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    // Cross-origin isolation lets onnxruntime-web use wasm threads, as a production host should.
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('browser demo in headless Chromium', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-web-'));
  const out = join(dir, 'dist');
  let server: Server;
  let base = '';
  let context: import('playwright-core').BrowserContext;
  let page: import('playwright-core').Page;
  const fixture: FixtureOptions = grayConvnetFixture(FMNIST, 9, 21);
  const { checkpoint } = makeCheckpoint(fixture);
  const modelBytes = exportModel(checkpoint, { input: 'uint8-rgba' }).bytes;
  let mahalanobisBytes: Uint8Array;

  before(async () => {
    const { build } = await import('vite');
    await build({
      configFile: new URL('../../examples/web/vite.config.ts', import.meta.url).pathname,
      logLevel: 'error',
      build: { outDir: out, emptyOutDir: true },
    });
    writeFileSync(join(out, 'model.onnx'), modelBytes);
    const statistics = await withClassStatistics(fixture, checkpoint, loadDataset('fashion-mnist-mini', 'train'));
    mahalanobisBytes = exportModel(statistics, { input: 'uint8-rgba' }).bytes;
    writeFileSync(join(out, 'mahalanobis.onnx'), mahalanobisBytes);
    await sharp(Buffer.from(FMNIST.images.subarray(0, 784)), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(join(dir, 'shoe.png'));
    server = await serve(out);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    context = await launchChromium(join(dir, 'profile'));
    page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}?model=model.onnx`);
    await page.evaluate(() => (window as unknown as DemoWindow).onnxCilDemo.ready);
    assert.deepEqual(errors, []);
  });

  after(async () => {
    await context?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('classifies fixed test images like onnxruntime-node (top-1 label, probabilities within 1e-4)', async () => {
    assert.equal(await page.textContent('#error'), '');
    assert.match((await page.textContent('#model-status')) ?? '', /loaded: convnet, 9 classes.*runs on wasm/);
    const node = await loadClassifier(modelBytes);
    for (const { index, rgba } of IMAGES) {
      const image = { data: rgba, width: 28, height: 28 };
      const inBrowser: { label: string; probability: number }[] = await page.evaluate(
        (img) => (window as unknown as DemoWindow).onnxCilDemo.classify(img, 9),
        image,
      );
      const inNode = await node.classify({ data: Uint8Array.from(rgba), width: 28, height: 28 }, { topK: 9 });
      assert.equal(inBrowser[0]!.label, inNode[0]!.label, `image ${index}`);
      for (const p of inNode) {
        const b = inBrowser.find((x) => x.label === p.label)!;
        assert.ok(Math.abs(b.probability - p.probability) < 1e-4, `image ${index}, ${p.label}: ${b.probability} vs ${p.probability}`);
      }
    }
    await node.dispose();
  });

  it('classifies an uploaded image file through the page UI', async () => {
    await page.setInputFiles('#image-file', join(dir, 'shoe.png'));
    await page.waitForSelector('#predictions li');
    const label = await page.getAttribute('#predictions li:first-child', 'data-label');
    const node = await loadClassifier(modelBytes);
    const [best] = await node.classify({ data: Uint8Array.from(IMAGES[0]!.rgba), width: 28, height: 28 }, { topK: 1 });
    assert.equal(label, best!.label);
    await node.dispose();
  });

  it('adds a class in the page; the downloaded bytes equal what Node computes', async () => {
    const examples = [9, 19, 29, 39, 49].map((k) => ({ data: rgbaOf(900 + k), width: 28, height: 28 })); // Ankle boot test images
    await page.evaluate((imgs) => (window as unknown as DemoWindow).onnxCilDemo.addClass('Ankle boot', imgs), examples);
    assert.deepEqual(await page.evaluate(() => (window as unknown as DemoWindow).onnxCilDemo.classNames()), FMNIST.classNames);
    const webBytes = Uint8Array.from((await page.evaluate(() => (window as unknown as DemoWindow).onnxCilDemo.toBytes())) as number[]);
    const node = await loadClassifier(modelBytes);
    await node.addClasses([{ label: 'Ankle boot', images: examples.map((e) => ({ ...e, data: Uint8Array.from(e.data) })) }]);
    const a = classifierWeight(decodeModel(webBytes));
    const b = classifierWeight(decodeModel(node.toBytes()));
    assert.equal(a.classes, 10);
    for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i]! - b.data[i]!) < 1e-5, `classifier value ${i}`);
    const fromWeb = await loadClassifier(webBytes);
    for (const { rgba } of IMAGES.slice(0, 4)) {
      const img = { data: Uint8Array.from(rgba), width: 28, height: 28 };
      const [x] = await fromWeb.classify(img, { topK: 1 });
      const [y] = await node.classify(img, { topK: 1 });
      assert.equal(x!.label, y!.label);
      assert.ok(Math.abs(x!.probability - y!.probability) < 1e-4);
    }
    await Promise.all([fromWeb.dispose(), node.dispose()]);
    await page.waitForFunction(() => document.querySelector('#classes')?.textContent?.includes('10 classes'));
  });

  it('runs a model with the Mahalanobis readout like onnxruntime-node, also after adding a class from 5 images', async () => {
    const other = await context.newPage();
    try {
      await other.goto(`${base}?model=mahalanobis.onnx`);
      await other.evaluate(() => (window as unknown as DemoWindow).onnxCilDemo.ready);
      assert.equal(await other.textContent('#error'), '');
      const node = await loadClassifier(mahalanobisBytes);
      const compare = async (label: string) => {
        for (const { index, rgba } of IMAGES) {
          const inBrowser: { label: string; probability: number }[] = await other.evaluate(
            (img) => (window as unknown as DemoWindow).onnxCilDemo.classify(img, 10),
            { data: rgba, width: 28, height: 28 },
          );
          const inNode = await node.classify({ data: Uint8Array.from(rgba), width: 28, height: 28 }, { topK: 10 });
          assert.equal(inBrowser[0]!.label, inNode[0]!.label, `${label}: image ${index}`);
          for (const p of inNode) {
            const b = inBrowser.find((x) => x.label === p.label)!;
            assert.ok(Math.abs(b.probability - p.probability) < 1e-4, `${label}: image ${index}, ${p.label}: ${b.probability} vs ${p.probability}`);
          }
        }
      };
      await compare('as exported');
      const examples = [9, 19, 29, 39, 49].map((k) => ({ data: rgbaOf(900 + k), width: 28, height: 28 }));
      await other.evaluate((imgs) => (window as unknown as DemoWindow).onnxCilDemo.addClass('Ankle boot', imgs), examples);
      await node.addClasses([{ label: 'Ankle boot', images: examples.map((e) => ({ ...e, data: Uint8Array.from(e.data) })) }]);
      const a = mahalanobisStatistics(
        decodeModel(Uint8Array.from((await other.evaluate(() => (window as unknown as DemoWindow).onnxCilDemo.toBytes())) as number[])),
      );
      const b = mahalanobisStatistics(decodeModel(node.toBytes()));
      assert.equal(a.classes, 10);
      for (let i = 0; i < a.means.length; i++) assert.ok(Math.abs(a.means[i]! - b.means[i]!) < 1e-5, `mean value ${i}`);
      const scale = b.precisions.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (let i = 0; i < a.precisions.length; i++) assert.ok(Math.abs(a.precisions[i]! - b.precisions[i]!) < 1e-4 * scale, `precision value ${i}`);
      await compare('after adding a class');
      await node.dispose();
    } finally {
      await other.close();
    }
  });
});
