/**
 * Writing ONNX graphs in memory, for every format cnnviz translates to ONNX (Keras layers,
 * TensorFlow graph models): nodes, initialisers, attributes, kernels in ONNX's layout, and the
 * model's encoding. Translations take channels-last input and give channels-last outputs.
 */
import onnxProto from 'onnx-proto';
import { samePadding } from '../net/geometry.js';
import type { LayerWindow } from '../net/net.js';
import { onnxInput, UntranslatableError } from './translated.js';

const { onnx } = onnxProto;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;
export type Attribute = {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
  s?: Uint8Array;
  t?: Tensor;
};

export const OPSET = 13;

const A = onnx.AttributeProto.AttributeType;
export const int = (name: string, i: number): Attribute => ({ name, type: A.INT, i });
export const float = (name: string, f: number): Attribute => ({ name, type: A.FLOAT, f });
export const ints = (name: string, values: number[]): Attribute => ({ name, type: A.INTS, ints: values });
export const string = (name: string, s: string): Attribute => ({
  name,
  type: A.STRING,
  s: new TextEncoder().encode(s),
});

export const NCHW_TO_NHWC = [0, 2, 3, 1];
export const NHWC_TO_NCHW = [0, 3, 1, 2];

/** Builds the node list and initialisers; every name is unique. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;

  /** `prefix` keeps the names of a graph built onto another (a gradient) apart from the other's. */
  constructor(private readonly prefix = '') {}

  node(opType: string, inputs: string[], attributes: Attribute[] = [], output?: string): string {
    const name = output ?? `${this.prefix}t${this.counter++}_${opType}`;
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [name], name, attribute: attributes }));
    return name;
  }

  /** A node of several outputs (Split): their names, in order. */
  nodeOutputs(opType: string, inputs: string[], count: number, attributes: Attribute[] = []): string[] {
    const name = `${this.prefix}t${this.counter++}_${opType}`;
    const outputs = Array.from({ length: count }, (_, k) => `${name}:${k}`);
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: outputs, name, attribute: attributes }));
    return outputs;
  }

  constant(name: string, dims: number[], data: Float32Array): string {
    const unique = `${this.prefix}${name}__${this.counter++}`;
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push(
      onnx.TensorProto.create({ name: unique, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw }),
    );
    return unique;
  }

  /** An int64 initialiser (shapes, axes, pads; indices of any shape). */
  int64s(name: string, values: number[], dims: number[] = [values.length]): string {
    const unique = `${this.prefix}${name}__${this.counter++}`;
    this.initializers.push(
      onnx.TensorProto.create({
        name: unique,
        dims,
        dataType: onnx.TensorProto.DataType.INT64,
        int64Data: values,
      }),
    );
    return unique;
  }

  /** Clip to [low, high], as Relu6 and Keras' capped ReLU. */
  clip(x: string, low: number, high: number): string {
    return this.node('Clip', [
      x,
      this.constant('low', [], Float32Array.of(low)),
      this.constant('high', [], Float32Array.of(high)),
    ]);
  }
}

/** Conv and pool attributes of a window over an input of (height, width) (null: not known until run). */
export function windowAttributes(
  { kernel, strides, dilations, padding }: LayerWindow,
  [h, w]: [number | null, number | null],
): Attribute[] {
  const attributes = [ints('kernel_shape', kernel), ints('strides', strides)];
  if (dilations[0] !== 1 || dilations[1] !== 1) attributes.push(ints('dilations', dilations));
  if (Array.isArray(padding)) attributes.push(ints('pads', padding));
  else if (padding === 'same') {
    if (h !== null && w !== null) {
      const [top, bottom] = samePadding(h, kernel[0], strides[0], dilations[0]);
      const [left, right] = samePadding(w, kernel[1], strides[1], dilations[1]);
      attributes.push(ints('pads', [top, left, bottom, right]));
    } else if (dilations[0] === 1 && dilations[1] === 1) {
      // Same rule as ONNX's SAME_UPPER, which ONNX Runtime supports only without dilation.
      attributes.push(string('auto_pad', 'SAME_UPPER'));
    } else {
      throw new UntranslatableError("a dilated 'same' window on an input of undefined size");
    }
  }
  return attributes;
}

/** The element-wise activations Keras and TensorFlow share, by Keras' lowercase names; undefined for others. */
export function activationNode(b: GraphBuilder, name: string, x: string): string | undefined {
  switch (name) {
    case 'relu':
      return b.node('Relu', [x]);
    case 'relu6':
      return b.clip(x, 0, 6);
    case 'elu':
      return b.node('Elu', [x], [float('alpha', 1)]);
    case 'selu':
      return b.node('Selu', [x]);
    case 'sigmoid':
      return b.node('Sigmoid', [x]);
    case 'tanh':
      return b.node('Tanh', [x]);
    case 'softplus':
      return b.node('Softplus', [x]);
    case 'softsign':
      return b.node('Softsign', [x]);
    default:
      return undefined;
  }
}

/** Keras and TensorFlow kernel (kh, kw, in, out) to ONNX Conv weight (out, in, kh, kw). */
export function convWeight(kernel: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let f = 0; f < cout; f++)
          out[((f * cin + c) * kh + i) * kw + j] = kernel[((i * kw + j) * cin + c) * cout + f];
  return out;
}

/** Depthwise kernel (kh, kw, in, mult) to a grouped ONNX Conv weight (in * mult, 1, kh, kw). */
export function depthwiseWeight(kernel: Float32Array, [kh, kw, cin, mult]: number[]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++)
          out[((c * mult + m) * kh + i) * kw + j] = kernel[((i * kw + j) * cin + c) * mult + m];
  return out;
}

/** A float tensor's name and, when given, its shape (strings are symbolic dimensions). */
export const valueInfo = (name: string, dims?: Array<number | string>) =>
  onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        ...(dims
          ? { shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } }
          : {}),
      },
    },
  });

/** The encoded model: a channels-last input of (N, H, W, C) (null: symbolic) and the named outputs. */
export function encodeTranslation(
  name: string,
  b: GraphBuilder,
  [h, w, c]: Array<number | null>,
  outputs: string[],
): Uint8Array {
  const graph = onnx.GraphProto.create({
    name,
    node: b.nodes,
    initializer: b.initializers,
    input: [valueInfo(onnxInput, ['N', h ?? 'H', w ?? 'W', c ?? 'C'])],
    output: outputs.map((output) => valueInfo(output)),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'cnnviz',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
