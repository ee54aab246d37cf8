/**
 * TensorFlow.js graph models written as tfjs-converter writes them (model.json with
 * `"format": "graph-model"`, node attributes base64-encoded, constants in a weights manifest),
 * for tests and the bench. `mobileNetV2Graph` lays out keras.applications' MobileNetV2 as the
 * converter leaves it after grappler: BatchNormalization folded into the convolutions' biases,
 * each conv with its BiasAdd and Relu6 fused and named after the Relu6 it replaced.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededValues } from './keras-h5.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
export const intsAttr = (...v: number[]) => ({ list: { i: v.map(String) } });
export const stringAttr = (s: string) => ({ s: b64(s) });
export const fusedAttr = (...ops: string[]) => ({ list: { s: ops.map(b64) } });

type Dtype = 'float32' | 'int32' | 'bool';

interface Constant {
  name: string;
  shape: number[];
  dtype: Dtype;
  values: ArrayLike<number>;
}

const TYPES: Record<Dtype, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

export class GraphModelWriter {
  readonly nodes: Array<Record<string, unknown>> = [];
  private readonly constants: Constant[] = [];

  /** The image input: (h, w, c) under a free batch, or every dimension as the file declares it (-1: free). */
  constructor(input: string, shape: [number, number, number] | [number, number, number, number]) {
    this.placeholder(input, shape.length === 3 ? [-1, ...shape] : shape);
  }

  /** An input of the graph, dims as declared (-1: free). */
  placeholder(name: string, dims: number[]): string {
    this.nodes.push({
      name,
      op: 'Placeholder',
      attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: dims.map((d) => ({ size: String(d) })) } } },
    });
    return name;
  }

  constant(name: string, shape: number[], values: ArrayLike<number>, dtype: Dtype = 'float32'): string {
    const type = TYPES[dtype];
    this.constants.push({ name, shape, dtype, values });
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type }, value: { tensor: { dtype: type } } } });
    return name;
  }

  node(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
    return name;
  }

  /** Writes folder/model.json and its one shard; returns the model.json path. */
  write(folder: string): string {
    mkdirSync(folder, { recursive: true });
    const bytes = Buffer.concat(
      this.constants.map((c) =>
        Buffer.from(
          (c.dtype === 'int32'
            ? Int32Array.from(c.values)
            : c.dtype === 'bool'
              ? Uint8Array.from(c.values)
              : Float32Array.from(c.values)
          ).buffer,
        ),
      ),
    );
    writeFileSync(join(folder, 'group1-shard1of1.bin'), bytes);
    const json = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: { node: this.nodes, library: {}, versions: { producer: 1645 } },
      weightsManifest: [
        {
          paths: ['group1-shard1of1.bin'],
          weights: this.constants.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
        },
      ],
    };
    writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
    return join(folder, 'model.json');
  }
}

export interface MobileNetV2Options {
  size: number;
  /** Width multiplier (keras.applications' alpha). */
  alpha: number;
  /** Inverted residual blocks as [expansion, output channels, repeats, first stride]; keras' by default. */
  blocks?: Array<[number, number, number, number]>;
  classes: number;
  seed?: number;
}

const KERAS_BLOCKS: Array<[number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** keras.applications' _make_divisible: channels rounded to a multiple of 8, never 10% under. */
function divisible(v: number): number {
  const rounded = Math.max(8, Math.floor((v + 4) / 8) * 8);
  return rounded < 0.9 * v ? rounded + 8 : rounded;
}

/** A MobileNetV2 graph model with seeded weights; returns the writer (call write). */
export function mobileNetV2Graph({
  size,
  alpha,
  blocks = KERAS_BLOCKS,
  classes,
  seed = 1,
}: MobileNetV2Options): GraphModelWriter {
  const prefix = `StatefulPartitionedCall/mobilenetv2_${alpha.toFixed(2)}_${size}`;
  const g = new GraphModelWriter('input_1', [size, size, 3]);
  let k = seed;
  const nhwc = { data_format: stringAttr('NHWC'), dilations: intsAttr(1, 1, 1, 1) };
  // Weights scaled by fan-in so that activations neither vanish nor saturate through 17 blocks.
  const conv = (
    name: string,
    x: string,
    cin: number,
    cout: number,
    kernel: number,
    stride: number,
    relu: boolean,
    padding = 'SAME',
  ) => {
    const filter = g.constant(
      `${prefix}/${name}/Conv2D/ReadVariableOp`,
      [kernel, kernel, cin, cout],
      seededValues(kernel * kernel * cin * cout, k++, Math.sqrt(3 / (kernel * kernel * cin))),
    );
    const bias = g.constant(`${prefix}/${name}/BiasAdd/ReadVariableOp`, [cout], seededValues(cout, k++, 0.1));
    const fused = relu ? fusedAttr('BiasAdd', 'Relu6') : fusedAttr('BiasAdd');
    return g.node(
      `${prefix}/${name}${relu ? '_relu/Relu6' : '_BN/FusedBatchNormV3'}`,
      '_FusedConv2D',
      [x, filter, bias],
      {
        ...nhwc,
        strides: intsAttr(1, stride, stride, 1),
        padding: stringAttr(padding),
        num_args: { i: '1' },
        fused_ops: fused,
        epsilon: { f: 0 },
      },
    );
  };
  const depthwise = (name: string, x: string, channels: number, stride: number) => {
    const filter = g.constant(
      `${prefix}/${name}/depthwise/ReadVariableOp`,
      [3, 3, channels, 1],
      seededValues(9 * channels, k++, Math.sqrt(3 / 9)),
    );
    const bias = g.constant(
      `${prefix}/${name}_BN/FusedBatchNormV3/Offset`,
      [channels],
      seededValues(channels, k++, 0.1),
    );
    return g.node(`${prefix}/${name}_relu/Relu6`, 'FusedDepthwiseConv2dNative', [x, filter, bias], {
      ...nhwc,
      strides: intsAttr(1, stride, stride, 1),
      padding: stringAttr(stride === 2 ? 'VALID' : 'SAME'),
      num_args: { i: '1' },
      fused_ops: fusedAttr('BiasAdd', 'Relu6'),
    });
  };
  const first = divisible(32 * alpha);
  let x = conv('Conv1', 'input_1', 3, first, 3, 2, true);
  let channels = first;
  let id = 0;
  for (const [t, c, n, s] of blocks) {
    const out = divisible(c * alpha);
    for (let r = 0; r < n; r++, id++) {
      const stride = r === 0 ? s : 1;
      const name = id === 0 ? 'expanded_conv' : `block_${id}`;
      let y = x;
      const expanded = channels * t;
      if (t !== 1) y = conv(`${name}_expand`, y, channels, expanded, 1, 1, true);
      if (stride === 2)
        y = g.node(
          `${prefix}/${name}_pad/Pad`,
          'Pad',
          [y, g.constant(`${prefix}/${name}_pad/Pad/paddings`, [4, 2], [0, 0, 0, 1, 0, 1, 0, 0], 'int32')],
          { Tpaddings: { type: 'DT_INT32' } },
        );
      y = depthwise(`${name}_depthwise`, y, expanded, stride);
      y = conv(`${name}_project`, y, expanded, out, 1, 1, false);
      x = stride === 1 && out === channels ? g.node(`${prefix}/${name}_add/add`, 'AddV2', [x, y]) : y;
      channels = out;
    }
  }
  const last = alpha > 1 ? divisible(1280 * alpha) : 1280;
  x = conv('Conv_1', x, channels, last, 1, 1, true, 'VALID');
  const axes = g.constant(`${prefix}/global_average_pooling2d/Mean/reduction_indices`, [2], [1, 2], 'int32');
  x = g.node(`${prefix}/global_average_pooling2d/Mean`, 'Mean', [x, axes], {
    keep_dims: { b: false },
    Tidx: { type: 'DT_INT32' },
  });
  const w = g.constant(
    `${prefix}/predictions/MatMul/ReadVariableOp`,
    [last, classes],
    seededValues(last * classes, k++, Math.sqrt(3 / last)),
  );
  const b = g.constant(`${prefix}/predictions/BiasAdd/ReadVariableOp`, [classes], seededValues(classes, k++, 0.1));
  x = g.node(`${prefix}/predictions/BiasAdd`, '_FusedMatMul', [x, w, b], {
    transpose_a: { b: false },
    transpose_b: { b: false },
    num_args: { i: '1' },
    fused_ops: fusedAttr('BiasAdd'),
    epsilon: { f: 0 },
  });
  g.node('Identity', 'Softmax', [x]);
  return g;
}

/** A single-shard graph model.json loaded by tfjs-converter itself: the tests' oracle. */
export async function loadGraphModelFile(path: string): Promise<import('@tensorflow/tfjs-converter').GraphModel> {
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  const { memoryModel } = await import('./model-files.js');
  return loadGraphModel(memoryModel(path));
}
