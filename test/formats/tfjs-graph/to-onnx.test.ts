/**
 * Every op the graph-model translator covers, parity-checked: a small graph model written as
 * tfjs-converter writes it runs translated on ONNX Runtime (cnnviz, --backend onnx: no fallback)
 * and on tfjs-converter's own execution of the same model.json (the oracle, loaded here), on
 * seeded inputs; the outputs agree within 1e-5 of their scale.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openModel } from '../../../src/formats/model.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { seededValues } from '../../helpers/keras-h5.js';
import { fusedAttr, GraphModelWriter, intsAttr, loadGraphModelFile, stringAttr } from '../../helpers/graph-model.js';

const [H, W, C] = [6, 6, 4];
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-graph-ops-'));
const X = Float32Array.from(seededValues(H * W * C, 7, 1));

type Build = (g: GraphModelWriter, x: string) => string;
/** Where tfjs-converter cannot run the op as written (tfjs fuses no Tanh), the same computation unfused. */
type Oracle = Build;
const nhwc = { data_format: stringAttr('NHWC') };
const conv = (strides: number, padding: string, dilation = 1, extra: Record<string, unknown> = {}) => ({
  ...nhwc,
  strides: intsAttr(1, strides, strides, 1),
  padding: stringAttr(padding),
  dilations: intsAttr(1, dilation, dilation, 1),
  ...extra,
});
const fused = (...ops: string[]) => ({
  num_args: { i: '1' },
  fused_ops: fusedAttr(...ops),
  epsilon: { f: 0 },
  leakyrelu_alpha: { f: 0.2 },
});
const weights = (g: GraphModelWriter, name: string, shape: number[], seed: number) =>
  g.constant(
    name,
    shape,
    seededValues(
      shape.reduce((a, b) => a * b, 1),
      seed,
      0.5,
    ),
  );
const ints = (g: GraphModelWriter, name: string, shape: number[], values: number[]) =>
  g.constant(name, shape, values, 'int32');
/** A positive tensor for the ops that need one (Sqrt, Rsqrt, RealDiv's divisor). */
const positive = (g: GraphModelWriter, x: string) =>
  g.node('pos', 'AddV2', [g.node('relu0', 'Relu', [x]), g.constant('half', [], [0.5])]);
const flat = (g: GraphModelWriter, x: string) =>
  g.node('flat', 'Reshape', [x, ints(g, 'flat/shape', [2], [1, H * W * C])], { Tshape: { type: 'DT_INT32' } });

const CASES: Array<[string, Build, Oracle?]> = [
  [
    'Conv2D valid, stride 2',
    (g, x) => g.node('out', 'Conv2D', [x, weights(g, 'w', [3, 3, C, 5], 1)], conv(2, 'VALID')),
  ],
  [
    'Conv2D same, dilated 2',
    (g, x) => g.node('out', 'Conv2D', [x, weights(g, 'w', [3, 3, C, 3], 2)], conv(1, 'SAME', 2)),
  ],
  [
    'Conv2D explicit padding',
    (g, x) =>
      g.node(
        'out',
        'Conv2D',
        [x, weights(g, 'w', [3, 2, C, 3], 3)],
        conv(1, 'EXPLICIT', 1, { explicit_paddings: intsAttr(0, 0, 1, 2, 2, 1, 0, 0) }),
      ),
  ],
  ...['Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'LeakyRelu'].map((act): [string, Build, Oracle?] => {
    const w = (g: GraphModelWriter) => weights(g, 'w', [3, 3, C, 4], 4);
    const b = (g: GraphModelWriter) => weights(g, 'b', [4], 5);
    const build: Build = (g, x) =>
      g.node('out', '_FusedConv2D', [x, w(g), b(g)], { ...conv(1, 'SAME'), ...fused('BiasAdd', act) });
    const unfused: Oracle = (g, x) =>
      g.node('out', act, [
        g.node('biased', 'BiasAdd', [g.node('c', 'Conv2D', [x, w(g)], conv(1, 'SAME')), b(g)], nhwc),
      ]);
    return [`_FusedConv2D with BiasAdd and ${act}`, build, act === 'Tanh' ? unfused : undefined];
  }),
  [
    'DepthwiseConv2dNative, multiplier 2',
    (g, x) => g.node('out', 'DepthwiseConv2dNative', [x, weights(g, 'w', [3, 3, C, 2], 6)], conv(1, 'SAME')),
  ],
  [
    'FusedDepthwiseConv2dNative, stride 2, BiasAdd and Relu6',
    (g, x) =>
      g.node('out', 'FusedDepthwiseConv2dNative', [x, weights(g, 'w', [3, 3, C, 1], 7), weights(g, 'b', [C], 8)], {
        ...conv(2, 'SAME'),
        ...fused('BiasAdd', 'Relu6'),
      }),
  ],
  [
    'MaxPool valid 2x2',
    (g, x) =>
      g.node('out', 'MaxPool', [x], {
        ...nhwc,
        ksize: intsAttr(1, 2, 2, 1),
        strides: intsAttr(1, 2, 2, 1),
        padding: stringAttr('VALID'),
      }),
  ],
  [
    'MaxPool same 3x3, stride 2',
    (g, x) =>
      g.node('out', 'MaxPool', [x], {
        ...nhwc,
        ksize: intsAttr(1, 3, 3, 1),
        strides: intsAttr(1, 2, 2, 1),
        padding: stringAttr('SAME'),
      }),
  ],
  [
    'AvgPool same 3x3, stride 2 (padding not counted)',
    (g, x) =>
      g.node('out', 'AvgPool', [x], {
        ...nhwc,
        ksize: intsAttr(1, 3, 3, 1),
        strides: intsAttr(1, 2, 2, 1),
        padding: stringAttr('SAME'),
      }),
  ],
  [
    'MatMul',
    (g, x) =>
      g.node('out', 'MatMul', [flat(g, x), weights(g, 'w', [H * W * C, 7], 9)], {
        transpose_a: { b: false },
        transpose_b: { b: false },
      }),
  ],
  [
    'MatMul, transpose_b',
    (g, x) =>
      g.node('out', 'MatMul', [flat(g, x), weights(g, 'w', [7, H * W * C], 10)], {
        transpose_a: { b: false },
        transpose_b: { b: true },
      }),
  ],
  [
    '_FusedMatMul with BiasAdd and Relu',
    (g, x) =>
      g.node(
        'out',
        '_FusedMatMul',
        [flat(g, x), weights(g, 'w', [H * W * C, 5], 11), g.constant('b', [5], [0.5, 1, 1.5, 2, 2.5])],
        {
          transpose_a: { b: false },
          transpose_b: { b: false },
          ...fused('BiasAdd', 'Relu'),
        },
      ),
  ],
  ...['FusedBatchNorm', 'FusedBatchNormV3'].map((op): [string, Build] => [
    op,
    (g, x) =>
      g.node(
        'out',
        op,
        [
          x,
          weights(g, 'scale', [C], 13),
          weights(g, 'offset', [C], 14),
          weights(g, 'mean', [C], 15),
          g.constant('var', [C], [0.5, 1, 1.5, 2]),
        ],
        {
          ...nhwc,
          epsilon: { f: 0.001 },
          is_training: { b: false },
        },
      ),
  ]),
  ['BiasAdd', (g, x) => g.node('out', 'BiasAdd', [x, weights(g, 'b', [C], 16)], nhwc)],
  ...['Add', 'AddV2', 'Sub', 'Mul', 'Maximum', 'Minimum'].map((op): [string, Build] => [
    `${op} with a broadcast constant`,
    (g, x) => g.node('out', op, [x, weights(g, 'k', [C], 17)]),
  ]),
  ['RealDiv', (g, x) => g.node('out', 'RealDiv', [x, positive(g, x)])],
  [
    'AddN of three',
    (g, x) => g.node('out', 'AddN', [x, g.node('r', 'Relu', [x]), g.node('n', 'Neg', [x])], { N: { i: '3' } }),
  ],
  ...['Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh', 'Neg', 'Identity'].map((op): [string, Build] => [
    op,
    (g, x) => g.node('out', op, [g.node('scaled', 'Mul', [x, g.constant('three', [], [3])])]),
  ]),
  ['LeakyRelu', (g, x) => g.node('out', 'LeakyRelu', [x], { alpha: { f: 0.1 } })],
  ['Sqrt', (g, x) => g.node('out', 'Sqrt', [positive(g, x)])],
  ['Rsqrt', (g, x) => g.node('out', 'Rsqrt', [positive(g, x)])],
  ['Softmax over channels', (g, x) => g.node('out', 'Softmax', [x])],
  [
    'Mean over H and W',
    (g, x) =>
      g.node('out', 'Mean', [x, ints(g, 'axes', [2], [1, 2])], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } }),
  ],
  [
    'Mean keeping dims',
    (g, x) =>
      g.node('out', 'Mean', [x, ints(g, 'axes', [2], [1, 2])], { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } }),
  ],
  [
    'Max over H and W',
    (g, x) =>
      g.node('out', 'Max', [x, ints(g, 'axes', [2], [1, 2])], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } }),
  ],
  [
    'Pad',
    (g, x) =>
      g.node('out', 'Pad', [x, ints(g, 'p', [4, 2], [0, 0, 1, 2, 2, 0, 0, 0])], { Tpaddings: { type: 'DT_INT32' } }),
  ],
  [
    'MirrorPad REFLECT',
    (g, x) =>
      g.node('out', 'MirrorPad', [x, ints(g, 'p', [4, 2], [0, 0, 1, 2, 2, 1, 0, 0])], {
        Tpaddings: { type: 'DT_INT32' },
        mode: stringAttr('REFLECT'),
      }),
  ],
  [
    'ConcatV2 on channels',
    (g, x) =>
      g.node('out', 'ConcatV2', [x, g.node('r', 'Relu', [x]), ints(g, 'axis', [], [3])], {
        N: { i: '2' },
        Tidx: { type: 'DT_INT32' },
      }),
  ],
  [
    'Squeeze',
    (g, x) =>
      g.node(
        'out',
        'Squeeze',
        [
          g.node('m', 'Mean', [x, ints(g, 'axes', [2], [1, 2])], {
            keep_dims: { b: true },
            Tidx: { type: 'DT_INT32' },
          }),
        ],
        {
          squeeze_dims: intsAttr(1, 2),
        },
      ),
  ],
  [
    'Reshape',
    (g, x) => g.node('out', 'Reshape', [x, ints(g, 'shape', [3], [1, H * W, C])], { Tshape: { type: 'DT_INT32' } }),
  ],
  // Ops of published models (issue 20): maps, shape arithmetic folded to constants, and heads.
  ['Prelu', (g, x) => g.node('out', 'Prelu', [x, weights(g, 'alpha', [C], 3)])],
  ...(['half_pixel_centers', 'align_corners', 'asymmetric'] as const).flatMap((rule): Array<[string, Build]> =>
    (['ResizeBilinear', 'ResizeNearestNeighbor'] as const).map((op) => [
      `${op} ${rule}, to 9x11 and 4x11`,
      (g, x) =>
        g.node('out', 'AddV2', [
          g.node('up', op, [x, ints(g, 'size', [2], [9, 11])], resizeRule(rule)),
          g.node(
            'pooled',
            'Mean',
            [g.node('down', op, [x, ints(g, 'size2', [2], [4, 11])], resizeRule(rule)), ints(g, 'ax', [1], [1])],
            { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } },
          ),
        ]),
    ]),
  ),
  ...(
    [
      ['SAME', 12],
      ['VALID', 13],
      ['SAME', 11],
    ] as const
  ).map(([padding, size]): [string, Build] => [
    `Conv2DBackpropInput ${padding} stride 2 to ${size}x${size}`,
    (g, x) =>
      g.node(
        'out',
        'Conv2DBackpropInput',
        [ints(g, 'os', [4], [1, size, size, 5]), weights(g, 'w', [3, 3, 5, C], 4), x],
        conv(2, padding),
      ),
  ]),
  ['DepthToSpace', (g, x) => g.node('out', 'DepthToSpace', [x], { block_size: { i: '2' }, ...nhwc })],
  [
    'SpaceToBatchND, Conv2D, BatchToSpaceND (a dilated convolution as converted)',
    (g, x) => {
      const block = ints(g, 'block', [2], [2, 2]);
      const batched = g.node('s2b', 'SpaceToBatchND', [x, block, ints(g, 'pads', [2, 2], [2, 2, 2, 2])]);
      const c = g.node('c', 'Conv2D', [batched, weights(g, 'w', [3, 3, C, 5], 5)], conv(1, 'VALID'));
      return g.node('out', 'BatchToSpaceND', [c, block, ints(g, 'crops', [2, 2], [0, 0, 0, 0])]);
    },
  ],
  [
    'StridedSlice with begin and end masks, a negative begin and a shrunk axis',
    (g, x) =>
      g.node(
        'out',
        'StridedSlice',
        [x, ints(g, 'b', [4], [0, 2, -5, 0]), ints(g, 'e', [4], [0, 3, 0, 0]), ints(g, 's', [4], [1, 1, 1, 1])],
        {
          begin_mask: { i: '9' },
          end_mask: { i: '13' },
          ellipsis_mask: { i: '0' },
          new_axis_mask: { i: '0' },
          shrink_axis_mask: { i: '2' },
          Index: { type: 'DT_INT32' },
        },
      ),
  ],
  [
    'StridedSlice backwards with an ellipsis (a flip of the width)',
    (g, x) =>
      g.node(
        'out',
        'StridedSlice',
        [x, ints(g, 'b', [3], [0, 0, 0]), ints(g, 'e', [3], [0, 0, 0]), ints(g, 's', [3], [1, -1, 1])],
        {
          begin_mask: { i: '6' },
          end_mask: { i: '6' },
          ellipsis_mask: { i: '1' },
          new_axis_mask: { i: '0' },
          shrink_axis_mask: { i: '0' },
        },
      ),
  ],
  [
    'Shape, StridedSlice, Mul, Pack, ResizeBilinear: shape arithmetic folded',
    (g, x) => {
      const shape = g.node('shape', 'Shape', [x], { out_type: { type: 'DT_INT32' } });
      const sliced = (name: string, at: number) =>
        g.node(
          name,
          'StridedSlice',
          [shape, ints(g, `${name}/b`, [1], [at]), ints(g, `${name}/e`, [1], [at + 1]), ints(g, `${name}/s`, [1], [1])],
          {
            shrink_axis_mask: { i: '1' },
          },
        );
      const two = ints(g, 'two', [], [2]);
      const size = g.node(
        'size',
        'Pack',
        [g.node('h2', 'Mul', [sliced('h', 1), two]), g.node('w2', 'Mul', [sliced('w', 2), two])],
        {
          N: { i: '2' },
          axis: { i: '0' },
        },
      );
      return g.node('out', 'ResizeBilinear', [x, size], { half_pixel_centers: { b: true } });
    },
  ],
  ['Slice', (g, x) => g.node('out', 'Slice', [x, ints(g, 'b', [4], [0, 1, 2, 0]), ints(g, 'n', [4], [-1, 4, 3, -1])])],
  [
    'Pack (a new axis)',
    (g, x) => g.node('out', 'Pack', [x, g.node('n', 'Neg', [x])], { N: { i: '2' }, axis: { i: '1' } }),
  ],
  [
    'Unpack: outputs 0 and 2 summed',
    (g, x) => {
      const u = g.node('u', 'Unpack', [x], { num: { i: String(C) }, axis: { i: '3' } });
      return g.node('out', 'AddV2', [u, `${u}:2`]);
    },
  ],
  [
    'Split and SplitV: second outputs read',
    (g, x) => {
      const split = g.node('sp', 'Split', [ints(g, 'axis', [], [3]), x], { num_split: { i: '2' } });
      const splitV = g.node('spv', 'SplitV', [x, ints(g, 'sizes', [2], [2, -1]), ints(g, 'axis2', [], [3])], {
        num_split: { i: '2' },
      });
      return g.node('out', 'AddV2', [
        g.node('d', 'Sub', [`${split}:1`, split]),
        g.node('m', 'Mul', [`${splitV}:1`, splitV]),
      ]);
    },
  ],
  ['Transpose', (g, x) => g.node('out', 'Transpose', [x, ints(g, 'perm', [4], [0, 2, 1, 3])])],
  ['ExpandDims', (g, x) => g.node('out', 'ExpandDims', [x, ints(g, 'axis', [], [-1])])],
  [
    'Fill of a folded shape',
    (g, x) =>
      g.node('out', 'AddV2', [x, g.node('f', 'Fill', [g.node('shape', 'Shape', [x]), g.constant('v', [], [0.5])])]),
  ],
  ['Tile', (g, x) => g.node('out', 'Tile', [x, ints(g, 'm', [4], [1, 2, 1, 3])])],
  [
    'BroadcastTo',
    (g, x) =>
      g.node('out', 'BroadcastTo', [
        g.node('m', 'Mean', [x, ints(g, 'axes', [2], [1, 2])], { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } }),
        ints(g, 'shape', [4], [1, H, W, C]),
      ]),
  ],
  [
    'GatherV2 (channels reordered)',
    (g, x) =>
      g.node('out', 'GatherV2', [x, ints(g, 'i', [3], [2, 0, 3]), ints(g, 'axis', [], [3])], {
        batch_dims: { i: '0' },
      }),
  ],
  ['GatherNd', (g, x) => g.node('out', 'GatherNd', [x, ints(g, 'i', [1, 2, 2], [0, 1, 0, 4])])],
  [
    'Cast to int32 and back (truncation)',
    (g, x) =>
      g.node(
        'out',
        'Cast',
        [g.node('i', 'Cast', [g.node('x3', 'Mul', [x, g.constant('three', [], [3])])], { DstT: { type: 'DT_INT32' } })],
        {
          DstT: { type: 'DT_FLOAT' },
        },
      ),
  ],
  ...(['Square', 'Abs', 'Exp', 'Floor'] as const).map((op): [string, Build] => [op, (g, x) => g.node('out', op, [x])]),
  [
    'Sum',
    (g, x) =>
      g.node('out', 'Sum', [x, ints(g, 'axes', [2], [1, 2])], { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } }),
  ],
  [
    'Prod',
    (g, x) =>
      g.node('out', 'Prod', [x, ints(g, 'axes', [1], [3])], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } }),
  ],
  ...(['SquaredDifference', 'FloorDiv', 'FloorMod'] as const).map((op): [string, Build] => [
    op,
    (g, x) => g.node('out', op, [x, g.constant('y', [], [0.7])]),
  ]),
  [
    // As converters from ONNX write it: tfjs-converter runs NCHW convolutions (stride 1: it reads
    // strides at NHWC's positions) but adds a BiasAdd's bias as if NHWC, so the bias is an Add.
    'Conv2D channels-first (NCHW) between transposes',
    (g, x) => {
      const first = g.node('nchw', 'Transpose', [x, ints(g, 'p1', [4], [0, 3, 1, 2])]);
      const c = g.node('c', 'Conv2D', [first, weights(g, 'w', [3, 3, C, 5], 6)], {
        data_format: stringAttr('NCHW'),
        strides: intsAttr(1, 1, 1, 1),
        padding: stringAttr('VALID'),
        dilations: intsAttr(1, 1, 1, 1),
      });
      const biased = g.node('b', 'AddV2', [c, weights(g, 'bias', [5, 1, 1], 7)]);
      return g.node('out', 'Transpose', [biased, ints(g, 'p2', [4], [0, 2, 3, 1])]);
    },
  ],
];

/** TensorFlow's three coordinate rules of a resize. */
function resizeRule(rule: 'half_pixel_centers' | 'align_corners' | 'asymmetric') {
  return { align_corners: { b: rule === 'align_corners' }, half_pixel_centers: { b: rule === 'half_pixel_centers' } };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** tfjs-converter's own execution of a model.json: the oracle, its values and shape. */
async function oracle(path: string): Promise<{ data: Float32Array; shape: number[] }> {
  const graph = await loadGraphModelFile(path);
  const out = graph.execute({ input: tf.tensor4d(X, [1, H, W, C]) }, 'out') as tf.Tensor;
  return { data: (await out.data()) as Float32Array, shape: out.shape };
}

const written = (build: Build, folder: string): string => {
  const g = new GraphModelWriter('input', [H, W, C]);
  build(g, 'input');
  return g.write(join(dir, folder));
};

// Every row of three (jest hands a shorter row's missing argument its done callback).
const ROWS = CASES.map(([name, build, unfused]): [string, Build, Oracle | null] => [name, build, unfused ?? null]);

test.each(ROWS)(
  '%s: ONNX Runtime equals tfjs-converter, and the shape rule its shape',
  async (name, build, unfused) => {
    const path = written(build, name.replace(/\W+/g, '_'));
    const model = await openModel(path, { includeTop: true });
    const { forward } = await model.startEngine(['out'], { engine: 'onnx', weights: 'imagenet' });
    try {
      expect(forward.engine).toBe('onnx');
      const [ours] = await forward.run(X, [1, H, W, C]);
      const { data: expected, shape } = await oracle(
        unfused ? written(unfused, `${name.replace(/\W+/g, '_')}-unfused`) : path,
      );
      // The graph's shape rule against the shape tfjs-converter computed: the batch free, or 1 where a Reshape's constant says so.
      const [batch, ...rest] = model.net.layers.find((l) => l.name === 'out')!.outputShape!;
      expect([batch === null || batch === 1, rest]).toEqual([true, shape.slice(1)]);
      expect(ours.length).toBe(expected.length);
      // An output of zeros would agree with anything: every case must produce values.
      expect(scaleOf(expected)).toBeGreaterThan(0.01);
      expect(maxAbsDiff(ours, expected) / scaleOf(expected)).toBeLessThan(1e-5);
    } finally {
      await forward.dispose();
    }
  },
);

test("StridedSlice shrinking the last axis (x[0, 1:6:2, -5:, 2]) equals NumPy's indexing, done by hand (tfjs-converter's differs)", async () => {
  const g = new GraphModelWriter('input', [H, W, C]);
  g.node(
    'out',
    'StridedSlice',
    ['input', ints(g, 'b', [4], [0, 1, -5, 2]), ints(g, 'e', [4], [0, 6, 0, 3]), ints(g, 's', [4], [1, 2, 1, 1])],
    {
      begin_mask: { i: '1' },
      end_mask: { i: '5' },
      shrink_axis_mask: { i: '8' },
    },
  );
  const model = await openModel(g.write(join(dir, 'shrink-last')), { includeTop: true });
  expect(model.net.layers.find((l) => l.name === 'out')!.outputShape).toEqual([null, 3, 5]);
  const { forward } = await model.startEngine(['out'], { engine: 'onnx', weights: 'imagenet' });
  try {
    const [ours] = await forward.run(X, [1, H, W, C]);
    const expected = [1, 3, 5].flatMap((h) => [1, 2, 3, 4, 5].map((w) => X[(h * W + w) * C + 2]));
    expect(Array.from(ours)).toEqual(expected);
  } finally {
    await forward.dispose();
  }
});

test('an op the translator lacks (a symmetric MirrorPad) is refused by --backend onnx, naming the node', async () => {
  const g = new GraphModelWriter('input', [H, W, C]);
  g.node('out', 'MirrorPad', ['input', ints(g, 'p', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0])], {
    Tpaddings: { type: 'DT_INT32' },
    mode: stringAttr('SYMMETRIC'),
  });
  const model = await openModel(g.write(join(dir, 'symmetric')), { includeTop: true });
  await expect(model.startEngine(['out'], { engine: 'onnx', weights: 'imagenet' })).rejects.toThrow(
    /--backend onnx: ONNX Runtime cannot express 'out' \(MirrorPad SYMMETRIC\)/,
  );
});
