/**
 * Each gradient rule against central finite differences: a small forward graph runs on ONNX
 * Runtime, its gradient graph gives d(sum(target * seed))/dx, and the derivative at sampled
 * input positions, measured by nudging that input both ways, agrees within 1e-2 of the
 * gradient's largest value (float32 differences of a smooth function agree far closer; the
 * tolerance covers kinks of ReLU and max).
 */
import * as ort from 'onnxruntime-node';
import { decodeModel } from '../../src/graph/proto.js';
import { gradientModel, gradientName, NoGradientRuleError, seedName } from '../../src/graph/gradient.js';
import { seededValues } from '../helpers/keras-h5.js';
import { onnxModelBytes, type GraphSpec, type Initializer } from '../helpers/onnx-builder.js';

const INPUT = [1, 3, 8, 8];
const floats = (name: string, dims: number[], seed: number, scale = 0.5): Initializer => ({
  name,
  dims,
  values: seededValues(
    dims.reduce((a, b) => a * b, 1),
    seed,
    scale,
  ),
});
const int64 = (name: string, values: number[]): Initializer => ({ name, dims: [values.length], values, int64: true });

/** The forward output of `bytes` for input x, as float64 sums need it. */
async function forward(
  session: ort.InferenceSession,
  x: Float32Array,
  shape: number[],
  output: string,
): Promise<Float32Array> {
  const result = await session.run({ x: new ort.Tensor('float32', x, shape) });
  return result[output].data as Float32Array;
}

async function checkGradient(
  spec: GraphSpec,
  target: string,
  shape = INPUT,
  convGradient: 'conv' | 'transpose' = 'conv',
): Promise<void> {
  const bytes = onnxModelBytes(spec);
  const session = await ort.InferenceSession.create(bytes);
  const x = Float32Array.from(
    seededValues(
      shape.reduce((a, b) => a * b, 1),
      3,
      1,
    ),
  );
  const y = await forward(session, x, shape, target);
  const seed = Float32Array.from(seededValues(y.length, 4, 1));
  const yDims = (await session.run({ x: new ort.Tensor('float32', x, shape) }))[target].dims;
  const gradient = await ort.InferenceSession.create(
    gradientModel({
      model: decodeModel('forward.onnx', bytes),
      input: { name: 'x', shape },
      target,
      wrt: ['x'],
      convGradient,
    }),
  );
  const result = await gradient.run({
    x: new ort.Tensor('float32', x, shape),
    [seedName(target)]: new ort.Tensor('float32', seed, yDims),
  });
  const g = result[gradientName('x')].data as Float32Array;
  expect(g.length).toBe(x.length);
  const objective = async (input: Float32Array) =>
    (await forward(session, input, shape, target)).reduce((s, v, i) => s + v * seed[i], 0);
  const scale = Math.max(...Array.from(g, Math.abs));
  expect(scale).toBeGreaterThan(1e-3); // a zero gradient would agree with anything
  const h = 1e-2;
  const positions = [
    ...Array.from({ length: 12 }, (_, k) => (k * 7919) % x.length),
    g.indexOf(g.reduce((a, v) => (Math.abs(v) > Math.abs(a) ? v : a), 0)),
  ];
  for (const p of positions) {
    const [up, down] = [Float32Array.from(x), Float32Array.from(x)];
    up[p] += h;
    down[p] -= h;
    const measured = ((await objective(up)) - (await objective(down))) / (2 * h);
    expect([p, Math.abs(measured - g[p]) / scale < 1e-2]).toEqual([p, true]);
  }
  await Promise.all([session.release(), gradient.release()]);
}

const one = (
  op: string,
  extra: Partial<GraphSpec['nodes'][0]> = {},
  initializers: Initializer[] = [],
  shape = INPUT,
): GraphSpec => ({
  input: { name: 'x', shape },
  initializers,
  nodes: [{ op, name: 'y', inputs: ['x', ...(extra.inputs ?? [])], attrs: extra.attrs }],
});

const CASES: Array<[string, GraphSpec, string, number[]?]> = [
  [
    'Conv, pads 1, stride 2 (odd rows come back as output padding)',
    one(
      'Conv',
      { inputs: ['w'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
      [floats('w', [4, 3, 3, 3], 1)],
      [1, 3, 9, 8],
    ),
    'y',
    [1, 3, 9, 8],
  ],
  [
    'Conv, SAME_UPPER, stride 2',
    one('Conv', { inputs: ['w'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } }, [floats('w', [4, 3, 3, 3], 2)]),
    'y',
  ],
  [
    'Conv, dilated 2',
    one('Conv', { inputs: ['w', 'b'], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] } }, [
      floats('w', [2, 3, 3, 3], 3),
      floats('b', [2], 4),
    ]),
    'y',
  ],
  [
    'Conv, 3 groups of 2 channels, uneven pads',
    one(
      'Conv',
      { inputs: ['w'], attrs: { group: 3, pads: [0, 1, 2, 1] } },
      [floats('w', [9, 2, 3, 3], 24)],
      [1, 6, 8, 8],
    ),
    'y',
    [1, 6, 8, 8],
  ],
  [
    'Conv, depthwise (groups)',
    one('Conv', { inputs: ['w'], attrs: { group: 3, pads: [1, 1, 1, 1] } }, [floats('w', [6, 1, 3, 3], 5)]),
    'y',
  ],
  [
    'MaxPool 3x3, stride 2, overlapping, padded',
    one('MaxPool', { attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } }),
    'y',
  ],
  ['GlobalAveragePool', one('GlobalAveragePool'), 'y'],
  [
    'ConvTranspose, stride 2, pads 1, output padding 1',
    one(
      'ConvTranspose',
      { inputs: ['w', 'b'], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } },
      [floats('w', [3, 4, 3, 3], 21), floats('b', [4], 22)],
    ),
    'y',
  ],
  [
    'ConvTranspose, grouped and dilated',
    one('ConvTranspose', { inputs: ['w'], attrs: { group: 3, dilations: [2, 2], pads: [1, 0, 1, 0] } }, [
      floats('w', [3, 2, 3, 3], 23),
    ]),
    'y',
  ],
  ...(
    [
      ['nearest', 'asymmetric', 'floor', [1, 1, 2, 2]],
      ['nearest', 'half_pixel', 'round_prefer_floor', [1, 1, 1.5, 2.25]],
      ['nearest', 'tf_half_pixel_for_nn', 'round_prefer_ceil', [1, 1, 2, 0.75]],
      ['linear', 'half_pixel', 'round_prefer_floor', [1, 1, 2, 1.5]],
      ['linear', 'align_corners', 'round_prefer_floor', [1, 1, 1.75, 0.5]],
      ['linear', 'pytorch_half_pixel', 'round_prefer_floor', [1, 1, 3, 1]],
      ['linear', 'asymmetric', 'round_prefer_floor', [1, 1, 0.6, 2]],
    ] as const
  ).map(([mode, coordinates, nearest, scales]): [string, GraphSpec, string] => [
    `Resize ${mode}, ${coordinates}${mode === 'nearest' ? `, ${nearest}` : ''}, scales ${scales.slice(2).join(' x ')}`,
    {
      input: { name: 'x', shape: INPUT },
      initializers: [{ name: 'sc', dims: [4], values: [...scales] }],
      nodes: [
        {
          op: 'Resize',
          name: 'y',
          inputs: ['x', '', 'sc'],
          attrs: { mode, coordinate_transformation_mode: coordinates, nearest_mode: nearest },
        },
      ],
    },
    'y',
  ]),
  [
    'Resize linear to sizes',
    one('Resize', { inputs: ['', '', 'sz'], attrs: { mode: 'linear' } }, [int64('sz', [1, 3, 13, 5])]),
    'y',
  ],
  ['Relu', one('Relu'), 'y'],
  [
    'Clip (ReLU6 as PyTorch exports it)',
    one('Clip', { inputs: ['lo', 'hi'] }, [
      { name: 'lo', dims: [], values: [-0.3] },
      { name: 'hi', dims: [], values: [0.4] },
    ]),
    'y',
  ],
  ['LeakyRelu', one('LeakyRelu', { attrs: { alpha: { float: 0.1 } } }), 'y'],
  ['Sigmoid', one('Sigmoid'), 'y'],
  ['Tanh', one('Tanh'), 'y'],
  ['Identity', one('Identity'), 'y'],
  ['Add, broadcast constant', one('Add', { inputs: ['k'] }, [floats('k', [3, 1, 1], 6)]), 'y'],
  ['Sub, broadcast constant', one('Sub', { inputs: ['k'] }, [floats('k', [1, 8], 7)]), 'y'],
  ['Mul, broadcast constant', one('Mul', { inputs: ['k'] }, [floats('k', [3, 1, 1], 8)]), 'y'],
  ['Div by a constant', one('Div', { inputs: ['k'] }, [{ name: 'k', dims: [3, 1, 1], values: [2, -3, 0.5] }]), 'y'],
  [
    'two paths meeting (x * relu(x) + x): cotangents added',
    {
      input: { name: 'x', shape: INPUT },
      nodes: [
        { op: 'Relu', name: 'r', inputs: ['x'] },
        { op: 'Mul', name: 'm', inputs: ['x', 'r'] },
        { op: 'Add', name: 'y', inputs: ['m', 'x'] },
      ],
    },
    'y',
  ],
  ['Transpose', one('Transpose', { attrs: { perm: [0, 2, 3, 1] } }), 'y'],
  ['Reshape', one('Reshape', { inputs: ['s'] }, [int64('s', [1, -1, 16])]), 'y'],
  [
    'Flatten then Gemm (a Dense head), transB',
    {
      input: { name: 'x', shape: INPUT },
      initializers: [floats('w', [5, 192], 9), floats('b', [5], 10)],
      nodes: [
        { op: 'Flatten', name: 'f', inputs: ['x'] },
        { op: 'Gemm', name: 'y', inputs: ['f', 'w', 'b'], attrs: { transB: 1 } },
      ],
    },
    'y',
  ],
  ['MatMul with constant weights', one('MatMul', { inputs: ['w'] }, [floats('w', [8, 5], 11)]), 'y'],
  [
    'Concat with its own ReLU',
    {
      input: { name: 'x', shape: INPUT },
      nodes: [
        { op: 'Relu', name: 'r', inputs: ['x'] },
        { op: 'Concat', name: 'y', inputs: ['x', 'r'], attrs: { axis: 1 } },
      ],
    },
    'y',
  ],
  ['Pad (constant)', one('Pad', { inputs: ['p'] }, [int64('p', [0, 0, 1, 2, 0, 0, 2, 1])]), 'y'],
  [
    'BatchNormalization (inference)',
    one('BatchNormalization', { inputs: ['s', 'o', 'm', 'v'], attrs: { epsilon: { float: 0.001 } } }, [
      floats('s', [3], 12),
      floats('o', [3], 13),
      floats('m', [3], 14),
      { name: 'v', dims: [3], values: [0.5, 1, 2] },
    ]),
    'y',
  ],
  ['Elu', one('Elu', { attrs: { alpha: { float: 0.7 } } }), 'y'],
  ['HardSigmoid', one('HardSigmoid', { attrs: { alpha: { float: 0.3 }, beta: { float: 0.4 } } }), 'y'],
  ['HardSwish (opset 14)', { ...one('HardSwish'), opset: 14 }, 'y', [1, 3, 8, 8]],
  [
    'PRelu, a slope per channel',
    one('PRelu', { inputs: ['s'] }, [{ name: 's', dims: [3, 1, 1], values: [0.1, -0.2, 0.5] }]),
    'y',
  ],
  [
    'Slice of rows and columns',
    one('Slice', { inputs: ['st', 'en', 'ax'] }, [int64('st', [1, 2]), int64('en', [-1, 7]), int64('ax', [2, 3])]),
    'y',
  ],
  [
    'Split, the gradient through one output only',
    {
      input: { name: 'x', shape: INPUT },
      initializers: [int64('parts', [1, 2])],
      nodes: [
        { op: 'Split', name: 's', inputs: ['x', 'parts'], output: 's0', extraOutputs: ['s1'], attrs: { axis: 1 } },
      ],
      outputs: ['s1'],
    },
    's1',
  ],
  [
    'AveragePool 3x3, stride 2, padded, pads not counted',
    one('AveragePool', { attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } }, [], [1, 3, 9, 8]),
    'y',
    [1, 3, 9, 8],
  ],
  [
    'AveragePool 2x2, pads counted',
    one('AveragePool', { attrs: { kernel_shape: [2, 2], strides: [1, 1], pads: [1, 0, 0, 1], count_include_pad: 1 } }),
    'y',
  ],
  ['ReduceMax over H and W', one('ReduceMax', { attrs: { axes: [2, 3], keepdims: 0 } }), 'y'],
  ['Softmax over channels', one('Softmax', { attrs: { axis: 1 } }), 'y'],
  ['ReduceMean over H, W, kept', one('ReduceMean', { attrs: { axes: [2, 3], keepdims: 1 } }), 'y'],
  ['ReduceMean over channels, dropped', one('ReduceMean', { attrs: { axes: [1], keepdims: 0 } }), 'y'],
];

// Every row of four (jest hands a shorter row's missing argument its done callback).
const ROWS = CASES.map(([name, spec, target, shape]): [string, GraphSpec, string, number[]] => [
  name,
  spec,
  target,
  shape ?? INPUT,
]);

test.each(ROWS)('%s: the gradient equals finite differences', async (_name, spec, target, shape) => {
  await checkGradient(spec, target, shape);
});

// A stride-1 Conv's gradient is a Conv with the flipped kernel by default: the ConvTranspose
// every stride takes is checked on the same convolutions.
test.each(ROWS.filter(([name]) => name.startsWith('Conv,')))(
  '%s, through ConvTranspose: the gradient equals finite differences',
  async (_name, spec, target, shape) => {
    await checkGradient(spec, target, shape, 'transpose');
  },
);

test('an op without a rule is named, never given a zero gradient', () => {
  const bytes = onnxModelBytes({
    input: { name: 'x', shape: INPUT },
    nodes: [
      { op: 'Relu', name: 'r', inputs: ['x'] },
      { op: 'Softplus', name: 'e', inputs: ['r'] },
      { op: 'Relu', name: 'y', inputs: ['e'] },
    ],
  });
  expect(() =>
    gradientModel({ model: decodeModel('m.onnx', bytes), input: { name: 'x', shape: INPUT }, target: 'y', wrt: ['x'] }),
  ).toThrow(NoGradientRuleError);
  expect(() =>
    gradientModel({ model: decodeModel('m.onnx', bytes), input: { name: 'x', shape: INPUT }, target: 'y', wrt: ['x'] }),
  ).toThrow("'e' (Softplus)");
});

test("the gradient with respect to an inner tensor (Grad-CAM takes a stage's maps) and the input together", async () => {
  const spec: GraphSpec = {
    input: { name: 'x', shape: INPUT },
    initializers: [floats('w', [4, 3, 3, 3], 15)],
    nodes: [
      { op: 'Conv', name: 'c', inputs: ['x', 'w'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu', name: 'r', inputs: ['c'] },
      { op: 'GlobalAveragePool', name: 'y', inputs: ['r'] },
    ],
  };
  const bytes = onnxModelBytes(spec);
  const model = gradientModel({
    model: decodeModel('m.onnx', bytes),
    input: { name: 'x', shape: INPUT },
    target: 'y',
    wrt: ['r', 'x'],
  });
  const session = await ort.InferenceSession.create(model);
  const x = Float32Array.from(seededValues(192, 3, 1));
  const seed = Float32Array.of(1, 0, 0, 0);
  const out = await session.run({
    x: new ort.Tensor('float32', x, INPUT),
    [seedName('y')]: new ort.Tensor('float32', seed, [1, 4, 1, 1]),
  });
  // d(mean of channel 0)/d(r) is 1/64 on channel 0 and 0 elsewhere: worked by hand.
  const dr = out[gradientName('r')].data as Float32Array;
  expect(Array.from(dr.subarray(0, 64)).every((v) => Math.abs(v - 1 / 64) < 1e-7)).toBe(true);
  expect(Array.from(dr.subarray(64)).every((v) => v === 0)).toBe(true);
  expect(out[gradientName('x')].dims).toEqual(INPUT);
  await session.release();
});

test("Lucid's redirected ReLU: the standard gradient unless it is all zero for an image, then all but what lowers a negative input", async () => {
  const shape = [2, 1, 2, 2];
  const bytes = onnxModelBytes({
    input: { name: 'x', shape },
    nodes: [{ op: 'Relu', name: 'y', inputs: ['x'] }],
  });
  const model = gradientModel({
    model: decodeModel('m.onnx', bytes),
    input: { name: 'x', shape },
    target: 'y',
    wrt: ['x'],
    relu: 'redirected',
  });
  const session = await ort.InferenceSession.create(model);
  // Image 0 has a positive input (its standard gradient is not all zero); image 1 has none.
  const x = Float32Array.of(1, -2, -3, -4, -1, -2, -3, -4);
  const seed = Float32Array.of(1, -1, 2, -2, 1, -1, 2, -2);
  const out = await session.run({
    x: new ort.Tensor('float32', x, shape),
    [seedName('y')]: new ort.Tensor('float32', seed, shape),
  });
  expect(Array.from(out[gradientName('x')].data as Float32Array)).toEqual([1, 0, 0, 0, 1, 0, 2, 0]);
  await session.release();
});
