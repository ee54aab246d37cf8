/**
 * Every ONNX shape rule against ONNX Runtime: a one-op model runs on random input, and the
 * shape cnnviz infers for the op's output (without value_info) is the shape the runtime gives.
 */
import { randomFillSync } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { decodeModel } from '../../src/graph/proto.js';
import { inferTensorShapes } from '../../src/graph/shapes.js';
import { onnxModelBytes, type Attr, type Initializer } from '../helpers/onnx-builder.js';

interface Case {
  op: string;
  input?: number[];
  /** Further inputs: initialisers by name ('' for an omitted optional input). */
  inputs?: string[];
  initializers?: Initializer[];
  attrs?: Record<string, Attr>;
}

const int64 = (name: string, values: number[]): Initializer => ({ name, dims: [values.length], values, int64: true });
const floats = (name: string, dims: number[], values?: number[]): Initializer => ({
  name,
  dims,
  values: values ?? Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 37) % 11) / 11 - 0.5),
});

const CASES: Array<[string, Case]> = [
  [
    'Conv, pads and strides',
    {
      op: 'Conv',
      inputs: ['w'],
      initializers: [floats('w', [4, 3, 3, 3])],
      attrs: { pads: [1, 0, 2, 1], strides: [2, 1] },
    },
  ],
  [
    'Conv, SAME_UPPER, stride 2 (ONNX Runtime takes no dilation with it)',
    {
      op: 'Conv',
      input: [1, 3, 9, 8],
      inputs: ['w'],
      initializers: [floats('w', [4, 3, 3, 3])],
      attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] },
    },
  ],
  [
    'Conv, dilated',
    {
      op: 'Conv',
      inputs: ['w'],
      initializers: [floats('w', [4, 3, 3, 3])],
      attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] },
    },
  ],
  [
    'Conv, groups (depthwise)',
    { op: 'Conv', inputs: ['w'], initializers: [floats('w', [6, 1, 3, 3])], attrs: { group: 3 } },
  ],
  [
    'MaxPool, ceil mode',
    { op: 'MaxPool', input: [1, 3, 9, 9], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } },
  ],
  ['MaxPool, SAME_LOWER', { op: 'MaxPool', attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' } }],
  ['AveragePool, pads', { op: 'AveragePool', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } }],
  ['LpPool', { op: 'LpPool', attrs: { kernel_shape: [2, 2], strides: [2, 2] } }],
  ['GlobalAveragePool', { op: 'GlobalAveragePool' }],
  ['GlobalMaxPool', { op: 'GlobalMaxPool' }],
  [
    'Concat on channels',
    { op: 'Concat', inputs: ['k'], initializers: [floats('k', [1, 2, 8, 8])], attrs: { axis: 1 } },
  ],
  ['Flatten, axis 2', { op: 'Flatten', attrs: { axis: 2 } }],
  [
    'Gemm, transB',
    {
      op: 'Gemm',
      input: [2, 12],
      inputs: ['w', 'b'],
      initializers: [floats('w', [5, 12]), floats('b', [5])],
      attrs: { transB: 1 },
    },
  ],
  [
    'MatMul, broadcast batch',
    { op: 'MatMul', input: [2, 3, 4, 6], inputs: ['w'], initializers: [floats('w', [6, 5])] },
  ],
  ['Reshape with 0 and -1', { op: 'Reshape', inputs: ['s'], initializers: [int64('s', [0, -1, 16])] }],
  ['Transpose', { op: 'Transpose', attrs: { perm: [0, 2, 3, 1] } }],
  ['Pad', { op: 'Pad', inputs: ['p'], initializers: [int64('p', [0, 0, 1, 2, 0, 1, 3, 0])] }],
  ['Squeeze', { op: 'Squeeze', input: [1, 3, 1, 8], inputs: ['a'], initializers: [int64('a', [2])] }],
  ['Unsqueeze', { op: 'Unsqueeze', inputs: ['a'], initializers: [int64('a', [0, 3])] }],
  [
    'ConvTranspose, stride 2, pads and output padding',
    {
      op: 'ConvTranspose',
      inputs: ['w'],
      initializers: [floats('w', [3, 4, 3, 3])],
      attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 0] },
    },
  ],
  [
    'ConvTranspose, grouped, dilated',
    {
      op: 'ConvTranspose',
      inputs: ['w'],
      initializers: [floats('w', [3, 2, 3, 3])],
      attrs: { group: 3, dilations: [2, 2] },
    },
  ],
  [
    'Resize by scales',
    { op: 'Resize', inputs: ['', 'sc'], initializers: [floats('sc', [4], [1, 1, 2, 1.5])], attrs: { mode: 'nearest' } },
  ],
  [
    'Resize to sizes',
    { op: 'Resize', inputs: ['', '', 'sz'], initializers: [int64('sz', [1, 3, 5, 11])], attrs: { mode: 'linear' } },
  ],
  ['ReduceMean over H, W', { op: 'ReduceMean', attrs: { axes: [2, 3], keepdims: 1 } }],
  ['ReduceMax, dims dropped', { op: 'ReduceMax', attrs: { axes: [1], keepdims: 0 } }],
  [
    'ReduceSum (axes as input)',
    { op: 'ReduceSum', inputs: ['a'], initializers: [int64('a', [2, 3])], attrs: { keepdims: 0 } },
  ],
  ['Relu (same shape)', { op: 'Relu' }],
  ['Add, broadcast', { op: 'Add', inputs: ['k'], initializers: [floats('k', [3, 1, 1])] }],
  ['Mul, broadcast both ways', { op: 'Mul', input: [1, 3, 1, 8], inputs: ['k'], initializers: [floats('k', [4, 1])] }],
];

test.each(CASES)('%s: the inferred shape is the shape ONNX Runtime gives', async (_name, c) => {
  const input = c.input ?? [1, 3, 8, 8];
  const bytes = onnxModelBytes({
    input: { name: 'x', shape: input },
    initializers: c.initializers,
    nodes: [{ op: c.op, name: 'out', inputs: ['x', ...(c.inputs ?? [])], attrs: c.attrs }],
  });
  const inferred = inferTensorShapes(decodeModel('test.onnx', bytes).graph, { name: 'x', shape: input }).get('out');
  const session = await ort.InferenceSession.create(bytes);
  const values = new Float32Array(input.reduce((a, b) => a * b, 1));
  randomFillSync(new Uint32Array(values.buffer));
  const result = await session.run({
    x: new ort.Tensor(
      'float32',
      values.map((v) => (v % 1000) / 1000),
      input,
    ),
  });
  expect(inferred).toEqual([...result.out.dims]);
  await session.release();
});
