/** Heavy dependencies load where they are used, not when the CLI starts or the library is imported. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, type TestContext } from 'node:test';
import { repoRoot, temporaryFolder } from '../data/helpers.js';

/** Packages that only some commands need: charts (vega, vega-lite), image decoding (sharp), onnxruntime. */
const HEAVY = ['vega', 'vega-lite', 'sharp', 'onnxruntime-node', 'onnxruntime-web'];

/**
 * The bare package names a Node process resolves while running `args` (under tsx), recorded by a resolve hook.
 */
function packagesLoaded(t: TestContext, args: string[]): Set<string> {
  const dir = temporaryFolder(t);
  const log = join(dir, 'resolved.txt');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (/^[@a-z]/.test(specifier) && !specifier.startsWith('node:')) appendFileSync(${JSON.stringify(log)}, specifier + '\\n');
  return next(specifier, context);
}
`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', register, ...args], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const names = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  // 'vega-lite/build/...' and '@img/sharp-...' count as their package.
  return new Set(names.map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)));
}

test('onnx-cil --help loads no charting, image or onnxruntime package', (t) => {
  const loaded = packagesLoaded(t, ['src/cli/main.ts', '--help']);
  assert.ok(loaded.has('yargs'), `the hook saw no yargs; it saw ${[...loaded].join(', ')}`);
  assert.deepEqual(
    HEAVY.filter((p) => loaded.has(p)),
    [],
  );
});

test("import 'onnx-cil' loads no charting, image or onnxruntime package", (t) => {
  const loaded = packagesLoaded(t, ['--input-type=module', '-e', `await import(${JSON.stringify(join(repoRoot, 'src', 'index.ts'))});`]);
  assert.ok(loaded.has('zod'), `the hook saw no zod; it saw ${[...loaded].join(', ')}`);
  assert.deepEqual(
    HEAVY.filter((p) => loaded.has(p)),
    [],
  );
});

test('drawing a chart does load vega and vega-lite (the check above can see them)', (t) => {
  const report = JSON.stringify(join(repoRoot, 'src', 'cil', 'report.ts'));
  const script = `const { renderChart } = await import(${report});
const svg = await renderChart({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } });
if (!svg.startsWith('<svg')) throw new Error('no SVG');`;
  const loaded = packagesLoaded(t, ['--input-type=module', '-e', script]);
  assert.ok(loaded.has('vega') && loaded.has('vega-lite'), `saw ${[...loaded].join(', ')}`);
});
