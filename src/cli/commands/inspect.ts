import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { CLASSIFIER_WEIGHT, META_KEYS } from '../../export/metadata.js';
import { DataType, decodeModel, valueInfoShape, codeToDtype, type ModelProto, type TensorProto } from '../../graph/onnx-proto.js';

interface InspectArgs {
  file: string;
  json: boolean;
}

/** Bytes per element of the tensor types onnx-cil reads (TensorProto data type codes). */
const ELEMENT_BYTES: ReadonlyMap<number, number> = new Map([
  [DataType.FLOAT, 4],
  [DataType.INT64, 8],
  [DataType.INT32, 4],
  [DataType.UINT8, 1],
  [DataType.BOOL, 1],
  [DataType.DOUBLE, 8],
]);

/** Values an initializer actually stores (null when its type or storage is not one onnx-cil reads). */
function storedValues(t: TensorProto): number | null {
  if (t.data_location === 1) return null;
  const size = ELEMENT_BYTES.get(t.data_type ?? 0);
  if (t.raw_data && t.raw_data.byteLength > 0) return size ? t.raw_data.byteLength / size : null;
  return (t.float_data?.length ?? 0) + (t.int32_data?.length ?? 0) + (t.int64_data?.length ?? 0) + (t.double_data?.length ?? 0);
}

/**
 * Signs that a file's shapes cannot be right: initializers whose declared shape does not match the values they hold,
 * declared weights larger than the file itself, and onnx-cil class names that do not match the classifier.
 */
function shapeWarnings(model: ModelProto, fileBytes: number): string[] {
  const warnings: string[] = [];
  let declaredBytes = 0;
  for (const t of model.graph.initializer) {
    const dims = (t.dims ?? []).map(Number);
    const declared = dims.reduce((a, d) => a * d, 1);
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      warnings.push(`initializer ${t.name} has an impossible shape [${dims.join(', ')}]`);
      continue;
    }
    const stored = storedValues(t);
    if (stored !== null && stored !== declared && !(stored === 0 && declared === 0)) {
      warnings.push(
        `initializer ${t.name} declares [${dims.join(', ')}] (${declared.toLocaleString('en-US')} values) but stores ${stored.toLocaleString('en-US')}`,
      );
    }
    if (t.data_location !== 1) declaredBytes += declared * (ELEMENT_BYTES.get(t.data_type ?? 0) ?? 1);
  }
  if (declaredBytes > fileBytes) {
    warnings.push(
      `the initializers declare ${declaredBytes.toLocaleString('en-US')} bytes of weights but the file has ${fileBytes.toLocaleString('en-US')}: the parameter count is not real`,
    );
  }
  const meta = new Map((model.metadata_props ?? []).map((p) => [p.key, p.value]));
  const rawNames = meta.get(META_KEYS.classNames);
  const weight = model.graph.initializer.find((t) => t.name === CLASSIFIER_WEIGHT);
  if (rawNames !== undefined && weight) {
    let names: unknown;
    try {
      names = JSON.parse(rawNames);
    } catch {
      names = null;
    }
    const rows = Number((weight.dims ?? [])[0] ?? NaN);
    if (!Array.isArray(names)) warnings.push(`metadata ${META_KEYS.classNames} is not a JSON array`);
    else if (names.length !== rows)
      warnings.push(`metadata names ${names.length} classes but the classifier has ${rows} outputs: labels would be shifted (onnx-cil refuses to load it)`);
  }
  return warnings;
}

/** Summary of an ONNX file: inputs, outputs, op counts, parameter count, metadata, and warnings about corrupt shapes. */
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
  const parameters = g.initializer.filter((t) => isParam(t.name ?? '')).reduce((a, t) => a + (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1), 0);
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
    warnings: shapeWarnings(model, bytes.byteLength),
  };
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <file>',
  describe: "Print an ONNX file's inputs, outputs, op counts and parameter count",
  builder: (y: Argv) =>
    y.positional('file', { type: 'string', demandOption: true, describe: 'an .onnx file' }).option('json', {
      type: 'boolean',
      default: false,
      describe: 'print one JSON object (inputs, outputs, ops, parameters, metadata, warnings) on stdout',
    }) as Argv<InspectArgs>,
  handler: (a) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(a.file);
    } catch {
      throw new Error(`cannot read ${a.file}`);
    }
    let s: ReturnType<typeof inspectModel>;
    try {
      s = inspectModel(bytes);
    } catch (err) {
      throw new Error(`${a.file} cannot be read: ${(err as Error).message} (is it a complete .onnx file?)`);
    }
    if (a.json) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
      return;
    }
    const shape = (d: number[]) => `[${d.map((x) => (x < 0 ? '?' : x)).join(', ')}]`;
    const lines = [
      `${a.file}: IR ${s.irVersion}, opset ${s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}, producer ${s.producer || 'unknown'}`,
      'inputs:',
      ...s.inputs.map((i) => `  ${i.name}: ${i.dtype}${shape(i.shape)}`),
      'outputs:',
      ...s.outputs.map((o) => `  ${o.name}: ${o.dtype}${shape(o.shape)}`),
      `nodes: ${s.nodes} (${Object.entries(s.ops)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
      `parameters: ${s.parameters.toLocaleString('en-US')} in ${s.initializers} initializers`,
      ...Object.entries(s.metadata).map(([k, v]) => `metadata ${k}: ${v.length > 200 ? `${v.slice(0, 200)}...` : v}`),
      ...s.warnings.map((w) => `warning: ${w}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
