/**
 * The source folders follow the pipeline (data -> graph -> autodiff -> nn -> train -> cil -> export -> app -> cli)
 * with util and runtime beneath all of them, and no module imports from a folder later in that order.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** Rank of each folder: a module may import its own folder and folders of lower rank only. */
const RANK: Readonly<Record<string, number>> = {
  util: 0,
  runtime: 0,
  data: 1,
  graph: 2,
  autodiff: 3,
  nn: 4,
  train: 5,
  cil: 6,
  export: 7,
  app: 8,
  cli: 9,
  // src/index.ts, the library entry, re-exports from every folder.
  '.': 10,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder under src/ of a path ('.' for files directly in src/). */
function folderOf(path: string): string {
  const parts = relative(srcRoot, path).split(/[\\/]/);
  return parts.length > 1 ? parts[0]! : '.';
}

/** Relative module specifiers of static imports, re-exports and dynamic imports. */
function relativeImports(code: string): string[] {
  const found = [...code.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return [...new Set(found)];
}

test('the import scanner finds static, type-only, re-export and dynamic imports', () => {
  const code =
    "import { a } from '../x/a.js';\nimport type { B } from './b.js';\nexport * from '../y/c.js';\nconst d = await import('../z/d.js');\nimport '../w/e.js';\nimport { f } from 'node:fs';";
  assert.deepEqual(relativeImports(code), ['../x/a.js', './b.js', '../y/c.js', '../z/d.js', '../w/e.js']);
});

test('no source module imports from a folder later in the pipeline', () => {
  const files = sourceFiles(srcRoot);
  assert.ok(files.length > 50, `only ${files.length} source files found under ${srcRoot}`);
  const upward: string[] = [];
  for (const file of files) {
    const from = folderOf(file);
    assert.ok(from in RANK, `src/${from} is not placed in the pipeline order of this test`);
    for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
      const to = folderOf(resolve(dirname(file), specifier));
      assert.ok(to in RANK, `${relative(srcRoot, file)} imports ${specifier} outside the known folders`);
      if (to !== from && RANK[to]! >= RANK[from]!) upward.push(`src/${relative(srcRoot, file)} -> ${specifier}`);
    }
  }
  assert.deepEqual(upward, []);
});
