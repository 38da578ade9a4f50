/**
 * ONNX serialisation: our own subset of onnx.proto (field numbers as upstream), encoded and
 * decoded with protobufjs. Only plain-JS dependencies, so it runs in Node and in browsers.
 */
import protobuf from 'protobufjs';

const ONNX_PROTO_SUBSET = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; SPARSE_TENSOR = 11; TYPE_PROTO = 13;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSORS = 12; TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message TensorProto {
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  repeated StringStringEntryProto external_data = 13;
  optional DataLocation data_location = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

const root = protobuf.parse(ONNX_PROTO_SUBSET, { keepCase: true }).root;
const ModelProtoType = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType codes used in this project. */
export const DataType = Object.freeze({
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const);
export type DType = 'float32' | 'int64' | 'int32' | 'uint8' | 'bool' | 'float64';

const DTYPE_TO_CODE: Readonly<Record<DType, number>> = Object.freeze({
  float32: DataType.FLOAT,
  int64: DataType.INT64,
  int32: DataType.INT32,
  uint8: DataType.UINT8,
  bool: DataType.BOOL,
  float64: DataType.DOUBLE,
});
const CODE_TO_DTYPE: ReadonlyMap<number, DType> = new Map(Object.entries(DTYPE_TO_CODE).map(([k, v]) => [v, k as DType]));

export function dtypeToCode(dtype: DType): number {
  return DTYPE_TO_CODE[dtype];
}
export function codeToDtype(code: number): DType {
  const dtype = CODE_TO_DTYPE.get(code);
  if (!dtype) throw new Error(`unsupported ONNX tensor data type ${code}`);
  return dtype;
}

// Plain-object shapes of the messages (protobufjs objects with keepCase field names).
export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number | bigint | protobuf.Long;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: (number | protobuf.Long)[];
  strings?: Uint8Array[];
}
export interface TensorProto {
  name?: string;
  dims?: (number | protobuf.Long)[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: (number | protobuf.Long)[];
  double_data?: number[];
  doc_string?: string;
  /** ONNX external data: location (file relative to the model), offset and length in bytes. */
  external_data?: { key: string; value: string }[];
  /** 1 = EXTERNAL: the values live in the file external_data names. */
  data_location?: number;
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}
export interface DimProto {
  dim_value?: number | protobuf.Long;
  dim_param?: string;
}
export interface ValueInfoProto {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: DimProto[] } } };
  doc_string?: string;
}
export interface GraphProto {
  name?: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}
export interface ModelProto {
  ir_version: number | protobuf.Long;
  opset_import: { domain?: string; version: number | protobuf.Long }[];
  producer_name?: string;
  producer_version?: string;
  doc_string?: string;
  graph: GraphProto;
  metadata_props?: { key: string; value: string }[];
}

/** Attribute type codes (AttributeProto.AttributeType). */
export const AttrType = Object.freeze({ FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 });

/** Protobuf messages cannot exceed 2 GiB; the check gives a clear message instead of a cryptic encoder failure. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;

/**
 * Serialises a model to ONNX bytes.
 * @example const bytes = encodeModel(builder.toModel());
 */
export function encodeModel(model: ModelProto): Uint8Array {
  let size = 0;
  for (const t of model.graph.initializer) size += t.raw_data?.byteLength ?? 0;
  if (size > MAX_MODEL_BYTES) {
    throw new Error(`model weights take ${(size / 2 ** 30).toFixed(2)} GiB; ONNX files over 2 GiB need external data, which onnx-cil does not write`);
  }
  const message = ModelProtoType.fromObject(model as unknown as Record<string, unknown>);
  return ModelProtoType.encode(message).finish();
}

/**
 * Parses ONNX bytes (ours or another tool's) into plain objects; int64 fields become numbers.
 * @example const model = decodeModel(readFileSync('model.onnx'));
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  if (bytes.byteLength > MAX_MODEL_BYTES) {
    throw new Error('ONNX files over 2 GiB (external data) are not supported');
  }
  let message: protobuf.Message;
  try {
    message = ModelProtoType.decode(bytes);
  } catch (err) {
    throw new Error(`not a valid ONNX model: ${(err as Error).message}`);
  }
  const model = ModelProtoType.toObject(message, {
    longs: Number,
    bytes: Uint8Array as unknown as typeof String,
    defaults: false,
    arrays: true,
  }) as unknown as ModelProto;
  if (!model.graph) throw new Error('not a valid ONNX model: it has no graph');
  model.graph.node ??= [];
  model.graph.initializer ??= [];
  model.graph.input ??= [];
  model.graph.output ??= [];
  return model;
}

/** Typed-array view of a decoded tensor's data, whatever field the writer used. */
export function tensorData(t: TensorProto): Float32Array | BigInt64Array | Int32Array | Uint8Array | Float64Array {
  const dtype = codeToDtype(t.data_type ?? 0);
  const count = (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
  if (t.data_location === 1) throw new Error(`tensor ${t.name ?? ''} uses external data, which is not supported`);
  if (t.raw_data && t.raw_data.byteLength > 0) {
    const raw = t.raw_data;
    // Copy into a fresh buffer: raw_data may be an unaligned view into a larger (pooled) buffer.
    const buf = new Uint8Array(raw).buffer;
    switch (dtype) {
      case 'float32':
        return new Float32Array(buf, 0, count);
      case 'int64':
        return new BigInt64Array(buf, 0, count);
      case 'int32':
        return new Int32Array(buf, 0, count);
      case 'float64':
        return new Float64Array(buf, 0, count);
      case 'uint8':
      case 'bool':
        return new Uint8Array(buf, 0, count);
    }
  }
  switch (dtype) {
    case 'float32':
      return Float32Array.from(t.float_data ?? []);
    case 'float64':
      return Float64Array.from(t.double_data ?? []);
    case 'int64':
      return BigInt64Array.from((t.int64_data ?? []).map((v) => BigInt(Number(v))));
    case 'int32':
      return Int32Array.from(t.int32_data ?? []);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(t.int32_data ?? []);
  }
}

/** Builds a TensorProto with raw little-endian data. */
export function makeTensorProto(
  name: string,
  dtype: DType,
  dims: readonly number[],
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Float64Array,
): TensorProto {
  const count = dims.reduce((a, d) => a * d, 1);
  if (data.length !== count) {
    throw new Error(`tensor ${name}: ${data.length} values for shape [${dims.join(', ')}] (${count} expected)`);
  }
  return {
    name,
    dims: [...dims],
    data_type: dtypeToCode(dtype),
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** Shape of a value-info entry; symbolic dimensions become -1. */
export function valueInfoShape(v: ValueInfoProto): number[] {
  const dims = v.type?.tensor_type?.shape?.dim ?? [];
  return dims.map((d) => (d.dim_value !== undefined && d.dim_param === undefined ? Number(d.dim_value) : -1));
}
