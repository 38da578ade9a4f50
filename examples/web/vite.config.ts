/**
 * The browser demo: `npm run demo:build` writes examples/web/dist; `npm run demo:dev` serves it with live reload.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The onnxruntime-web .wasm is large and already compressed as well as it gets; no size warnings for it.
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
    // The runtime module's Node-only branches (CUDA diagnostics) import node: built-ins lazily; they never run here.
    rollupOptions: { external: [/^node:/] },
  },
  // The dev server would pre-bundle onnxruntime-web into node_modules/.vite/deps, where its
  // `new URL('ort-wasm-….wasm', import.meta.url)` points at a file that is not there (the server answers with the
  // page's HTML). Served unbundled, the module sits in onnxruntime-web/dist beside its .wasm files. Builds are unaffected.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});
