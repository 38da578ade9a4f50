/** Build of the browser demo: `npx vite build --config examples/web/vite.config.ts` writes examples/web/dist. */
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
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});
