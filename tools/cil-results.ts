/**
 * Prints the markdown results table of docs/results/README.md from the saved `onnx-cil run --json` outputs, so the
 * table is never copied by hand.
 *
 * Usage: node --import tsx tools/cil-results.ts [--matrix] docs/results/*.json
 *
 * --matrix  prints, for every file, its accuracy matrix instead: one row per phase, one column per class group
 *           (group 0 = the base classes, group g = the classes phase g added), with the NCM readout beside it.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { resolveMethod } from '../src/cil/methods/index.js';
import type { RunResult } from '../src/cil/run.js';
import { parseToolArgs } from './lib/args.js';

const pct = (v: number | null) => (v === null ? '–' : (v * 100).toFixed(1));

// Other files a shell glob may bring along (a README beside the results) are passed over.
const args = parseToolArgs(import.meta.url, { matrix: { type: 'boolean' } }, { allowPositionals: true });
const files = args.positionals.filter((f) => f.endsWith('.json'));
if (files.length === 0) {
  process.stderr.write('usage: node --import tsx tools/cil-results.ts RESULT.json...\n');
  process.exit(2);
}
/**
 * The method with the settings in which its run departs from the method's defaults, so that two runs of one method
 * (gauss with one or four rotation heads) are told apart: `gauss (rotations 4)`.
 */
function methodLabel(r: RunResult): string {
  const defaults = resolveMethod(r.method).config;
  const changed = Object.entries(r.methodConfig ?? {}).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(defaults[k]));
  return changed.length ? `${r.method} (${changed.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')})` : r.method;
}

const results = files.map((f) => {
  const r = JSON.parse(readFileSync(f, 'utf8')) as RunResult;
  return { file: basename(f), r, label: methodLabel(r) };
});
results.sort(
  (a, b) =>
    a.r.preset.localeCompare(b.r.preset) ||
    a.r.epochsScale - b.r.epochsScale ||
    a.r.bn.localeCompare(b.r.bn) ||
    a.label.localeCompare(b.label) ||
    a.r.seed - b.r.seed,
);

/** The per-phase, per-class-group accuracy of one run as a markdown table: where forgetting happens, and to whom. */
function accuracyMatrix(file: string, r: RunResult, label: string): string {
  const groups = r.phases.length;
  const header = ['phase', ...Array.from({ length: groups }, (_, g) => (g === 0 ? 'base' : `g${g}`)), 'all', 'NCM'];
  const rows = r.phases.map((p) => [
    String(p.phase),
    ...Array.from({ length: groups }, (_, g) => pct(p.groupAccuracy[g] ?? null)),
    pct(p.accuracy),
    pct(p.ncmAccuracy),
  ]);
  return [
    `${file}: ${r.preset}, ${label}, seed ${r.seed}, x${r.epochsScale}`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
  ].join('\n');
}

if (args.values.matrix) {
  process.stdout.write(results.map(({ file, r, label }) => accuracyMatrix(file, r, label)).join('\n'));
  process.exit(0);
}

const lines = [
  '| preset | scale | BN later | method | seed | top-1 per phase (%) | avg. inc. acc. | final acc. | forgetting | BWT | NCM avg. inc. | readouts avg. inc. | final acc. per class group (%) | wall (s) | train img/s | file |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results
    .map(({ file, r, label }) =>
      [
        r.preset,
        r.epochsScale,
        r.bn,
        label,
        r.seed,
        r.phases.map((p) => pct(p.accuracy)).join(' / '),
        pct(r.averageIncrementalAccuracy),
        pct(r.finalAccuracy),
        pct(r.forgetting),
        pct(r.backwardTransfer),
        pct(r.averageIncrementalNcmAccuracy),
        r.averageIncrementalReadouts
          ? Object.entries(r.averageIncrementalReadouts)
              .map(([k, v]) => `${k} ${pct(v)}`)
              .join(', ')
          : '–',
        r.phases.at(-1)!.groupAccuracy.map(pct).join(' / '),
        r.wallSeconds.toFixed(0),
        r.imagesPerSecond.toFixed(0),
        file,
      ].join(' | '),
    )
    .map((row) => `| ${row} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
