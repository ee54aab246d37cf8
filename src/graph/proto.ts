/**
 * ONNX protobuf messages through onnx-proto (protobufjs code generated from onnx.proto): the
 * model, its tensors' dims and values (raw or typed fields), node attributes by name, encoding.
 * What reading an ONNX file, translating to ONNX and building gradients share.
 */
import onnxProto from 'onnx-proto';
import { messageOf, runtimeError } from '../errors.js';
import { halfToFloat } from '../weights/tfjs-weights.js';

export const { onnx } = onnxProto;

/**
 * Decoded messages as protobufjs gives them: repeated fields are arrays (empty when absent),
 * scalars take their defaults. The generated types mark every field optional and nullable;
 * these say what a decoded message holds.
 */
type Int64 = number | { toNumber(): number };
export interface TensorProto {
  name: string;
  dims: Int64[];
  dataType: number;
  rawData: Uint8Array;
  floatData: number[];
  doubleData: number[];
  int32Data: number[];
  int64Data: Int64[];
  externalData: Array<{ key: string; value: string }>;
  dataLocation: number;
}
export interface AttributeProto {
  name: string;
  type: number;
  i: Int64;
  f: number;
  s: Uint8Array;
  t?: TensorProto | null;
  ints: Int64[];
  floats: number[];
}
export interface NodeProto {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
}
interface Dimension {
  dimValue?: Int64 | null;
  dimParam?: string | null;
}
export interface ValueInfoProto {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim: Dimension[] } | null } | null } | null;
}
export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}
export interface ModelProto {
  graph: GraphProto;
  opsetImport?: Array<{ domain?: string; version: Int64 }>;
}

const DataType = onnx.TensorProto.DataType;
/** Element types counted as parameters: the float kinds. */
export const FLOAT_TYPES: ReadonlySet<number> = new Set([
  DataType.FLOAT,
  DataType.FLOAT16,
  DataType.DOUBLE,
  DataType.BFLOAT16,
]);

/** protobufjs gives int64 fields as Long objects or numbers. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value && typeof (value as { toNumber?: () => number }).toNumber === 'function')
    return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

export function decodeModel(path: string, bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes) as unknown as ModelProto;
  } catch (err) {
    throw runtimeError(
      `'${path}' is not a readable ONNX model (${messageOf(err)}): is it truncated, or another kind of file?`,
    );
  }
  if (!model.graph || model.graph.node.length === 0)
    throw runtimeError(`'${path}' holds no ONNX graph: is it an ONNX model file?`);
  return model;
}

export const dimsOf = (tensor: TensorProto): number[] => tensor.dims.map(toNumber);
export const elementCount = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

/** A float tensor's values as float32 (raw little-endian bytes, or the typed field). */
export function floatValues(tensor: TensorProto): Float32Array {
  const count = elementCount(dimsOf(tensor));
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    const bytes = new Uint8Array(raw); // a copy: the raw bytes need not be 4-byte aligned
    if (tensor.dataType === DataType.FLOAT) return new Float32Array(bytes.buffer, 0, count);
    if (tensor.dataType === DataType.DOUBLE) return Float32Array.from(new Float64Array(bytes.buffer, 0, count));
    if (tensor.dataType === DataType.FLOAT16)
      return Float32Array.from(new Uint16Array(bytes.buffer, 0, count), halfToFloat);
    if (tensor.dataType === DataType.BFLOAT16)
      return Float32Array.from(
        new Uint16Array(bytes.buffer, 0, count),
        (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0],
      );
  }
  if (tensor.dataType === DataType.FLOAT) return Float32Array.from(tensor.floatData);
  if (tensor.dataType === DataType.DOUBLE) return Float32Array.from(tensor.doubleData);
  if (tensor.dataType === DataType.FLOAT16 || tensor.dataType === DataType.BFLOAT16) {
    // In int32_data, one half per element (the low 16 bits).
    const bits = Uint16Array.from(tensor.int32Data);
    return tensor.dataType === DataType.FLOAT16
      ? Float32Array.from(bits, halfToFloat)
      : Float32Array.from(bits, (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]);
  }
  throw runtimeError(`tensor '${tensor.name}' is not a float tensor`);
}

/** A float or 8-bit integer tensor's values as float32 (the integers as they are: a quantized weight). */
export function weightValues(tensor: TensorProto): Float32Array {
  const { INT8, UINT8 } = DataType;
  if (tensor.dataType !== INT8 && tensor.dataType !== UINT8) return floatValues(tensor);
  const count = elementCount(dimsOf(tensor));
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    const bytes = new Uint8Array(raw);
    return Float32Array.from(
      tensor.dataType === INT8 ? new Int8Array(bytes.buffer, 0, count) : bytes.subarray(0, count),
    );
  }
  // In int32_data, one value per element.
  return Float32Array.from(tensor.int32Data.slice(0, count));
}

/** An integer tensor's values (shapes, axes, pads held as int64 or int32 tensors). */
export function intValues(tensor: TensorProto): number[] {
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    const bytes = new Uint8Array(raw);
    const view = new DataView(bytes.buffer);
    if (tensor.dataType === DataType.INT64)
      return Array.from({ length: bytes.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    if (tensor.dataType === DataType.INT32)
      return Array.from({ length: bytes.length / 4 }, (_, i) => view.getInt32(i * 4, true));
  }
  if (tensor.dataType === DataType.INT64) return tensor.int64Data.map(toNumber);
  if (tensor.dataType === DataType.INT32) return [...tensor.int32Data];
  if (FLOAT_TYPES.has(tensor.dataType)) return Array.from(floatValues(tensor));
  return [];
}

type AttributeValue = number | number[] | string | TensorProto | undefined;

/** A node's attribute by name, as a plain value. */
export function attribute(node: NodeProto, name: string): AttributeValue {
  const a = node.attribute.find((x) => x.name === name);
  if (!a) return undefined;
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return toNumber(a.i);
    case T.FLOAT:
      return a.f;
    case T.INTS:
      return a.ints.map(toNumber);
    case T.FLOATS:
      return [...a.floats];
    case T.STRING:
      return new TextDecoder().decode(a.s);
    case T.TENSOR:
      return a.t ?? undefined;
    default:
      return undefined;
  }
}

export const intsAttribute = (node: NodeProto, name: string): number[] | undefined => {
  const v = attribute(node, name);
  return Array.isArray(v) ? v : undefined;
};
export const intAttribute = (node: NodeProto, name: string, fallback: number): number => {
  const v = attribute(node, name);
  return typeof v === 'number' ? v : fallback;
};

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model as never).finish();
}

/** A float tensor's declaration, with no shape: how an added graph output is declared. */
export function floatOutput(name: string): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
  }) as unknown as ValueInfoProto;
}

export function transposeNode(input: string, output: string, perm: number[]): NodeProto {
  const attribute = { name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: perm };
  return onnx.NodeProto.create({
    opType: 'Transpose',
    name: output,
    input: [input],
    output: [output],
    attribute: [attribute],
  }) as unknown as NodeProto;
}
