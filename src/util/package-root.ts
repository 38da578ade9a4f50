/**
 * The onnx-cil package folder and its manifest. The code runs from `src/` (tsx, a checkout) or from `dist/` (compiled,
 * an installed package), while `models/`, `presets/` and `data/` sit at the package root in both layouts, so files
 * are found by walking up from this module to the package.json that names onnx-cil, never by a fixed `../..`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'onnx-cil';

interface Manifest {
  name?: string;
  version?: string;
}

let cached: { root: string; manifest: Manifest } | undefined;

function readManifest(path: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function locate(): { root: string; manifest: Manifest } {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = existsSync(join(dir, 'package.json')) ? readManifest(join(dir, 'package.json')) : undefined;
    // A stray copy of package.json in a build folder would have no models/ beside it; the package root has both.
    if (manifest?.name === PACKAGE_NAME && existsSync(join(dir, 'models'))) {
      cached = { root: dir, manifest };
      return cached;
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root (package.json and models/) above ${start}`);
  }
}

/**
 * The onnx-cil package folder: the repository root in a checkout, `node_modules/onnx-cil` once installed.
 *
 * @example
 * join(packageRoot(), 'data', 'fashion-mnist-mini');
 */
export function packageRoot(): string {
  return locate().root;
}

/**
 * A path inside the package folder.
 *
 * @example
 * readFileSync(packagePath('models', 'convnet.json'), 'utf8');
 */
export function packagePath(...parts: string[]): string {
  return join(locate().root, ...parts);
}

/**
 * The package version from its package.json ('unknown' when the manifest has none).
 *
 * @example
 * packageVersion(); // '0.1.0'
 */
export function packageVersion(): string {
  return locate().manifest.version ?? 'unknown';
}
