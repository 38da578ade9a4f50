/**
 * Run outputs for people: a CSV of per-phase metrics and a self-contained HTML report whose charts are vega-lite
 * specs rendered to SVG on the server (vega + vega-lite: a declarative, maintained charting library, so the
 * report needs no browser JavaScript and no hand-drawn SVG).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { PhaseEvaluation, RunSummary } from './metrics.js';

/** The fields of a run result the report and CSV read. */
export interface ReportInput extends RunSummary {
  method: string;
  preset: string;
  seed: number;
  model: string;
  dataset: string;
  bn: string;
  epochsScale: number;
  methodConfig: Record<string, unknown>;
  phases: PhaseEvaluation[];
  trainSeconds: number;
  wallSeconds: number;
  imagesPerSecond: number;
}

const CSV_COLUMNS = [
  'phase',
  'classesSeen',
  'accuracy',
  'top5',
  'ncmAccuracy',
  'oldAccuracy',
  'newAccuracy',
  'trainSeconds',
  'trainImages',
  'imagesPerSecond',
] as const;

/**
 * One CSV row per phase, plus one accuracy-matrix column per class group.
 * @example writeFileSync('metrics.csv', metricsCsv(result));
 */
export function metricsCsv(result: Pick<ReportInput, 'phases'>): string {
  const groups = result.phases.length;
  // Readouts of multi-head models (SPB-M: ensemble, single) as readout_<name> columns.
  const readouts = [...new Set(result.phases.flatMap((p) => Object.keys(p.readouts ?? {})))];
  const header = [...CSV_COLUMNS, ...readouts.map((r) => `readout_${r}`), ...Array.from({ length: groups }, (_, g) => `group${g}`)];
  const rows = result.phases.map((p) => [
    ...CSV_COLUMNS.map((c) => (p[c] === null ? '' : String(p[c]))),
    ...readouts.map((r) => (p.readouts?.[r] === undefined ? '' : String(p.readouts[r]))),
    ...Array.from({ length: groups }, (_, g) => (g < p.groupAccuracy.length ? String(p.groupAccuracy[g]) : '')),
  ]);
  return `${[header, ...rows].map((r) => r.join(',')).join('\n')}\n`;
}

/**
 * A vega-lite spec rendered to an SVG string.
 * @example const svg = await renderChart({ data: { values }, mark: 'line', encoding: { ... } });
 */
export async function renderChart(spec: TopLevelSpec): Promise<string> {
  // Loaded here, not at the top: vega and vega-lite are about a third of the installed dependencies' modules, and
  // only a finished run draws charts, so `import 'onnx-cil'` and every other command skip them.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An accuracy-per-phase chart: one series per value of `series`, accuracy on a 0-100% axis. */
function phaseChart(title: string, values: { phase: number; accuracy: number }[], series: string, bars: boolean): TopLevelSpec {
  return {
    title,
    width: 420,
    height: 240,
    data: { values },
    mark: bars ? 'bar' : { type: 'line', point: true },
    encoding: {
      x: { field: 'phase', type: 'ordinal', title: 'phase' },
      ...(bars ? { xOffset: { field: series, type: 'nominal' } } : {}),
      y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '%' } },
      color: { field: series, type: 'nominal' },
    },
  };
}

function accuracyPerPhaseSpec(phases: PhaseEvaluation[]): TopLevelSpec {
  // The method's prediction, its top-5, the NCM readout, and any other readout the method reports beside it.
  const values = phases.flatMap((p) => [
    { phase: p.phase, readout: 'top-1', accuracy: p.accuracy },
    { phase: p.phase, readout: 'top-5', accuracy: p.top5 },
    { phase: p.phase, readout: 'top-1 (NCM)', accuracy: p.ncmAccuracy },
    ...Object.entries(p.readouts ?? {}).map(([name, accuracy]) => ({ phase: p.phase, readout: `top-1 (${name})`, accuracy })),
  ]);
  return phaseChart('Accuracy on all seen classes after each phase', values, 'readout', false);
}

function oldNewSpec(phases: PhaseEvaluation[]): TopLevelSpec {
  const values = phases.flatMap((p) => [
    ...(p.oldAccuracy === null ? [] : [{ phase: p.phase, classes: 'old classes', accuracy: p.oldAccuracy }]),
    { phase: p.phase, classes: 'new classes', accuracy: p.newAccuracy },
  ]);
  return phaseChart('Old-class vs new-class accuracy', values, 'classes', true);
}

function matrixSpec(phases: PhaseEvaluation[], groupNames: string[]): TopLevelSpec {
  const values = phases.flatMap((p) => p.groupAccuracy.map((a, g) => ({ phase: `after phase ${p.phase}`, group: groupNames[g] ?? `group ${g}`, accuracy: a })));
  return {
    title: 'Accuracy matrix (rows: after phase t; columns: classes of phase g)',
    width: { step: 56 },
    height: { step: 28 },
    data: { values },
    encoding: {
      x: { field: 'group', type: 'ordinal', sort: null, title: 'class group', axis: { labelAngle: -30 } },
      y: { field: 'phase', type: 'ordinal', sort: null, title: null },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1], scheme: 'viridis' } } } },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: 'accuracy', type: 'quantitative', format: '.0%' },
          color: { condition: { test: 'datum.accuracy > 0.5', value: 'black' }, value: 'white' },
        },
      },
    ],
  };
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)}%`);
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The HTML report: summary table, per-phase table and three charts.
 * @example writeFileSync('report.html', await renderReport(result, [['T-shirt/top', ...], ['Bag'], ...]));
 */
export async function renderReport(result: ReportInput, groupClassNames: string[][]): Promise<string> {
  const groupNames = groupClassNames.map((names, g) => (names.length <= 2 ? names.join(', ') : `phase ${g} (${names.length} classes)`));
  const [perPhase, matrix, oldNew] = await Promise.all([
    renderChart(accuracyPerPhaseSpec(result.phases)),
    renderChart(matrixSpec(result.phases, groupNames)),
    renderChart(oldNewSpec(result.phases)),
  ]);
  const rows = result.phases
    .map(
      (p) =>
        `<tr><td>${p.phase}</td><td>${p.classesSeen}</td><td>${pct(p.accuracy)}</td><td>${pct(p.top5)}</td><td>${pct(p.ncmAccuracy)}</td><td>${pct(p.oldAccuracy)}</td><td>${pct(p.newAccuracy)}</td><td>${p.trainSeconds.toFixed(1)}</td><td>${p.imagesPerSecond.toFixed(0)}</td></tr>`,
    )
    .join('\n');
  const title = `${escapeHtml(result.method)} on ${escapeHtml(result.preset)} (seed ${result.seed})`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:2em}</style>
</head><body>
<h1>${title}</h1>
<p>Model ${escapeHtml(result.model)}, data ${escapeHtml(result.dataset)}, BatchNorm in later phases: ${escapeHtml(result.bn)}, epochs scale ${result.epochsScale}, method config <code>${escapeHtml(JSON.stringify(result.methodConfig))}</code>.</p>
<table><tr><th>average incremental accuracy</th><th>final accuracy</th><th>average forgetting</th><th>backward transfer</th><th>NCM avg. inc. accuracy</th><th>NCM final</th><th>train time (s)</th><th>wall time (s)</th><th>images/s</th></tr>
<tr><td>${pct(result.averageIncrementalAccuracy)}</td><td>${pct(result.finalAccuracy)}</td><td>${pct(result.forgetting)}</td><td>${pct(result.backwardTransfer)}</td><td>${pct(result.averageIncrementalNcmAccuracy)}</td><td>${pct(result.finalNcmAccuracy)}</td><td>${result.trainSeconds.toFixed(0)}</td><td>${result.wallSeconds.toFixed(0)}</td><td>${result.imagesPerSecond.toFixed(0)}</td></tr></table>
<h2>Per phase</h2>
<table><tr><th>phase</th><th>classes</th><th>top-1</th><th>top-5</th><th>NCM</th><th>old</th><th>new</th><th>train s</th><th>img/s</th></tr>
${rows}
</table>
<div class="charts">
<figure>${perPhase}</figure>
<figure>${oldNew}</figure>
<figure>${matrix}</figure>
</div>
</body></html>
`;
}
