import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { getModelSpec } from '../../src/nn/models.js';
import { packagePath, packageRoot, packageVersion } from '../../src/util/package-root.js';
import { repoRoot, temporaryFolder } from '../data/helpers.js';

test('the package root of a checkout is the repository, with models, presets and data', () => {
  assert.equal(packageRoot(), repoRoot);
  assert.equal(packageVersion(), (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
  for (const path of [packagePath('models', 'convnet.json'), packagePath('presets', 'fmnist-mini-b5-p5.yaml'), packagePath('data', 'fashion-mnist-mini')]) {
    assert.ok(existsSync(path), path);
  }
  assert.equal(getModelSpec('resnet32').family, 'resnet');
});

/** The helper compiled to JavaScript at `<pkg>/dist/util/package-root.js`, as the installed package lays it out. */
function compiledHelper(pkg: string): string {
  const { outputText } = ts.transpileModule(readFileSync(join(repoRoot, 'src', 'util', 'package-root.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  });
  mkdirSync(join(pkg, 'dist', 'util'), { recursive: true });
  const path = join(pkg, 'dist', 'util', 'package-root.js');
  writeFileSync(path, outputText);
  return path;
}

function runCompiled(helper: string): { root?: string; version?: string; error?: string } {
  const script = `import(${JSON.stringify(helper)}).then((m) => {
    try { console.log(JSON.stringify({ root: m.packageRoot(), version: m.packageVersion() })); }
    catch (e) { console.log(JSON.stringify({ error: e.message })); }
  });`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as ReturnType<typeof runCompiled>;
}

test('compiled into dist/, the helper finds the installed package above it and skips a stray package.json', (t) => {
  const pkg = join(temporaryFolder(t), 'node_modules', 'onnx-cil');
  mkdirSync(join(pkg, 'models'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'onnx-cil', version: '9.8.7', type: 'module' }));
  // A copy of the manifest inside dist/ (as some build set-ups make) has no models/ beside it.
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(pkg, 'dist', 'package.json'), JSON.stringify({ name: 'onnx-cil', version: '0.0.0', type: 'module' }));
  assert.deepEqual(runCompiled(compiledHelper(pkg)), { root: pkg, version: '9.8.7' });
});

test('without an onnx-cil package above it, the helper says what it looked for', (t) => {
  const pkg = join(temporaryFolder(t), 'other');
  mkdirSync(join(pkg, 'models'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'not-onnx-cil', type: 'module' }));
  const { error } = runCompiled(compiledHelper(pkg));
  assert.match(error ?? '', /cannot find the onnx-cil package root \(package\.json and models\/\) above .*other[/\\]dist[/\\]util/);
});
