/**
 * Small ONNX models written with onnx-proto, for tests: a graph of named nodes on one NCHW
 * image input, with float initializers, saved as a .onnx file.
 */
import { writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const A = onnx.AttributeProto.AttributeType;

export type Attr = number | number[] | string | { floats: number[] } | { float: number };

export interface NodeSpec {
  op: string;
  name: string;
  inputs: string[];
  /** Defaults to the node's name. */
  output?: string;
  /** Further outputs (Split's, MaxPool's indices). */
  extraOutputs?: string[];
  attrs?: Record<string, Attr>;
}

export interface Initializer {
  name: string;
  dims: number[];
  values: Float32Array | number[];
  /** INT64 for shapes and pads. */
  int64?: boolean;
}

function attribute(name: string, value: Attr) {
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: A.INTS, ints: value };
  if (typeof value === 'number') return { name, type: A.INT, i: value };
  if ('floats' in value) return { name, type: A.FLOATS, floats: value.floats };
  return { name, type: A.FLOAT, f: value.float };
}

const dims = (shape: Array<number | string>) => ({
  dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
});

export interface GraphSpec {
  input: { name: string; shape: Array<number | string> };
  nodes: NodeSpec[];
  initializers?: Initializer[];
  /** Graph outputs (tensor names); default: the last node's output. */
  outputs?: string[];
  /** Declared shapes of intermediate tensors (value_info), as exporters write them when asked. */
  valueInfo?: Record<string, Array<number | string>>;
  /** The default opset is 13; some ops (HardSwish) came later. */
  opset?: number;
  /** Where to put each initializer: inline (default) or in an external file beside the model. */
  external?: { file: string; dir: string };
}

export function onnxModelBytes(spec: GraphSpec): Uint8Array {
  const external: Buffer[] = [];
  let offset = 0;
  const initializer = (spec.initializers ?? []).map((t) => {
    const raw = t.int64
      ? Buffer.from(BigInt64Array.from(t.values as number[], (v) => BigInt(v)).buffer)
      : Buffer.from(Float32Array.from(t.values).buffer);
    const base = {
      name: t.name,
      dims: t.dims,
      dataType: t.int64 ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
    };
    if (!spec.external || t.int64) return onnx.TensorProto.create({ ...base, rawData: raw });
    external.push(raw);
    const tensor = onnx.TensorProto.create({
      ...base,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: spec.external.file },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ],
    });
    offset += raw.length;
    return tensor;
  });
  if (spec.external) writeFileSync(`${spec.external.dir}/${spec.external.file}`, Buffer.concat(external));
  const node = spec.nodes.map((n) =>
    onnx.NodeProto.create({
      opType: n.op,
      name: n.name,
      input: n.inputs,
      output: [n.output ?? n.name, ...(n.extraOutputs ?? [])],
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    }),
  );
  const outputs = spec.outputs ?? [spec.nodes.at(-1)!.output ?? spec.nodes.at(-1)!.name];
  const graph = onnx.GraphProto.create({
    name: 'test_graph',
    node,
    initializer,
    input: [
      {
        name: spec.input.name,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: dims(spec.input.shape) } },
      },
    ],
    output: outputs.map((name) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })),
    valueInfo: Object.entries(spec.valueInfo ?? {}).map(([name, shape]) => ({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: dims(shape) } },
    })),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    producerName: 'cnnviz tests',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

export function writeOnnxModel(path: string, spec: GraphSpec): string {
  writeFileSync(path, onnxModelBytes(spec));
  return path;
}
