import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { decodeModel, valueInfoShape, codeToDtype } from '../../graph/onnx-proto.js';

interface InspectArgs {
  file: string;
  json: boolean;
}

/** Summary of an ONNX file: inputs, outputs, op counts, parameter count, metadata. */
export function inspectModel(bytes: Uint8Array) {
  const model = decodeModel(bytes);
  const g = model.graph;
  const describe = (v: (typeof g.input)[number]) => ({
    name: v.name,
    dtype: (() => {
      try {
        return codeToDtype(v.type?.tensor_type?.elem_type ?? 0);
      } catch {
        return `type ${v.type?.tensor_type?.elem_type}`;
      }
    })(),
    shape: valueInfoShape(v),
  });
  const initNames = new Set(g.initializer.map((t) => t.name));
  const ops: Record<string, number> = {};
  for (const n of g.node) ops[n.op_type] = (ops[n.op_type] ?? 0) + 1;
  const isParam = (name: string) => !name.startsWith('const_');
  const parameters = g.initializer
    .filter((t) => isParam(t.name ?? ''))
    .reduce((a, t) => a + (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1), 0);
  return {
    irVersion: Number(model.ir_version),
    opsets: model.opset_import.map((o) => ({ domain: o.domain || 'ai.onnx', version: Number(o.version) })),
    producer: `${model.producer_name ?? ''} ${model.producer_version ?? ''}`.trim(),
    inputs: g.input.filter((v) => !initNames.has(v.name)).map(describe),
    outputs: g.output.map(describe),
    nodes: g.node.length,
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1])),
    initializers: g.initializer.length,
    parameters,
    metadata: Object.fromEntries((model.metadata_props ?? []).map((p) => [p.key, p.value])),
  };
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <file>',
  describe: 'Print an ONNX file\'s inputs, outputs, op counts and parameter count',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'an .onnx file' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (inputs, outputs, ops, parameters, metadata, warnings) on stdout' }) as Argv<InspectArgs>,
  handler: (a) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(a.file);
    } catch {
      throw new Error(`cannot read ${a.file}`);
    }
    const s = inspectModel(bytes);
    if (a.json) {
      process.stdout.write(JSON.stringify(s) + '\n');
      return;
    }
    const shape = (d: number[]) => `[${d.map((x) => (x < 0 ? '?' : x)).join(', ')}]`;
    const lines = [
      `${a.file}: IR ${s.irVersion}, opset ${s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}, producer ${s.producer || 'unknown'}`,
      'inputs:',
      ...s.inputs.map((i) => `  ${i.name}: ${i.dtype}${shape(i.shape)}`),
      'outputs:',
      ...s.outputs.map((o) => `  ${o.name}: ${o.dtype}${shape(o.shape)}`),
      `nodes: ${s.nodes} (${Object.entries(s.ops).map(([k, v]) => `${k} ${v}`).join(', ')})`,
      `parameters: ${s.parameters.toLocaleString('en-US')} in ${s.initializers} initializers`,
      ...Object.entries(s.metadata).map(([k, v]) => `metadata ${k}: ${v.length > 200 ? v.slice(0, 200) + '...' : v}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};
