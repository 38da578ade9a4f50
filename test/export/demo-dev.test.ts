/**
 * The browser demo under Vite's dev server (`npm run demo:dev`), in headless Chromium: onnxruntime-web's .wasm must
 * arrive as WebAssembly (a pre-bundled copy of the runtime once asked for it where only the page's HTML was), the
 * model must load, and a classification must match onnxruntime-node's.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ViteDevServer } from 'vite';
import { loadClassifier } from '../../src/app/node.js';
import { loadDataset } from '../../src/data/registry.js';
import { exportModel } from '../../src/export/index.js';
import { CHROMIUM_SKIP, launchChromium, grayConvnetFixture, makeCheckpoint, type DemoWindow } from './helpers.js';

const skip = CHROMIUM_SKIP;
if (skip) console.log(`# demo dev-server test skipped: ${skip}`);

const FMNIST = loadDataset('fashion-mnist-mini', 'test');

describe('browser demo on the Vite dev server in headless Chromium', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-web-dev-'));
  let server: ViteDevServer;
  let context: import('playwright-core').BrowserContext;
  let page: import('playwright-core').Page;
  const wasm: { url: string; status: number; type: string }[] = [];
  const pageErrors: string[] = [];
  const { checkpoint } = makeCheckpoint(grayConvnetFixture(FMNIST, 8, 5));
  const modelBytes = exportModel(checkpoint, { input: 'uint8-rgba' }).bytes;

  before(async () => {
    // The model is served from a public folder of its own; the config itself is the one `npm run demo:dev` uses.
    const pub = join(dir, 'public');
    mkdirSync(pub);
    writeFileSync(join(pub, 'model.onnx'), modelBytes);
    const { createServer } = await import('vite');
    server = await createServer({
      configFile: new URL('../../examples/web/vite.config.ts', import.meta.url).pathname,
      publicDir: pub,
      // A fresh dependency cache, as on a new checkout: a cache left by another configuration cannot hide a fault.
      cacheDir: join(dir, 'vite-cache'),
      logLevel: 'error',
      // Beside Vite's default 5173, so a developer's own `npm run demo:dev` is left alone; the next free port if taken.
      server: { host: '127.0.0.1', port: 5273, strictPort: false, hmr: false },
    });
    await server.listen();
    const base = server.resolvedUrls!.local[0]!;
    context = await launchChromium(join(dir, 'profile'));
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.endsWith('.wasm')) wasm.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? '' });
    });
    await page.goto(`${base}?model=model.onnx`);
    // The demo's own handle; it rejects, with the page's error, when the model cannot load.
    await page.evaluate(() => (window as unknown as DemoWindow).onnxCilDemo.ready);
  });

  after(async () => {
    await context?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches onnxruntime-web .wasm as WebAssembly and loads the model', async () => {
    assert.deepEqual(pageErrors, []);
    assert.ok(wasm.length > 0, 'the page fetched no .wasm');
    for (const w of wasm) {
      assert.equal(w.status, 200, w.url);
      assert.match(w.type, /application\/wasm/, w.url);
      // The browser keeps no copy of a 20 MB body, so the same URL is fetched again for its first bytes.
      const magic = Buffer.from(await (await fetch(w.url)).arrayBuffer())
        .subarray(0, 4)
        .toString('hex');
      assert.equal(magic, '0061736d', `${w.url} is not WebAssembly`);
    }
    assert.equal(await page.textContent('#error'), '');
    assert.match((await page.textContent('#model-status')) ?? '', /loaded: convnet, 8 classes.*runs on wasm/);
  });

  it('classifies a test image like onnxruntime-node', async () => {
    const rgba: number[] = [];
    for (const v of FMNIST.images.subarray(0, 784)) rgba.push(v, v, v, 255);
    const inBrowser: { label: string; probability: number }[] = await page.evaluate((img) => (window as unknown as DemoWindow).onnxCilDemo.classify(img, 3), {
      data: rgba,
      width: 28,
      height: 28,
    });
    const node = await loadClassifier(modelBytes);
    const inNode = await node.classify({ data: Uint8Array.from(rgba), width: 28, height: 28 }, { topK: 3 });
    await node.dispose();
    assert.equal(inBrowser[0]!.label, inNode[0]!.label);
    assert.ok(Math.abs(inBrowser[0]!.probability - inNode[0]!.probability) < 1e-4, `${inBrowser[0]!.probability} vs ${inNode[0]!.probability}`);
  });
});
