/**
 * ONNX files run as they are: a graph written with onnx-proto, holding each op the issue names
 * (Conv with pads and stride, BatchNormalization, Relu, Clip, MaxPool, Add, Concat, depthwise
 * Conv, GlobalAveragePool, Flatten, Gemm), computed by cnnviz's ONNX adapter and by tfjs' own
 * ops on the same numbers. Shapes inferred without value_info must match what ran.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openModel } from '../../../src/formats/model.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { seededValues } from '../../helpers/keras-h5.js';
import { writeOnnxModel, type GraphSpec } from '../../helpers/onnx-builder.js';

const [N, C, H, W] = [2, 3, 9, 11];
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-onnx-ops-'));

// Weights in ONNX's layouts: Conv (out, in / groups, kh, kw).
const w1 = seededValues(4 * 3 * 3 * 3, 1, 0.5);
const b1 = seededValues(4, 2, 0.5);
const bn = {
  scale: Float32Array.from(seededValues(4, 3, 0.4), (v) => v + 1),
  bias: seededValues(4, 4),
  mean: seededValues(4, 5),
  variance: Float32Array.from(seededValues(4, 6, 0.4), (v) => v + 0.6),
};
const dw = seededValues(4 * 1 * 3 * 3, 7, 0.5);
const gemmW = seededValues(5 * 8, 8, 0.5);
const gemmB = seededValues(5, 9);

const spec = (external?: GraphSpec['external']): GraphSpec => ({
  input: { name: 'image', shape: ['batch', C, H, W] },
  initializers: [
    { name: 'w1', dims: [4, 3, 3, 3], values: w1 },
    { name: 'b1', dims: [4], values: b1 },
    { name: 'bn_scale', dims: [4], values: bn.scale },
    { name: 'bn_bias', dims: [4], values: bn.bias },
    { name: 'bn_mean', dims: [4], values: bn.mean },
    { name: 'bn_var', dims: [4], values: bn.variance },
    { name: 'dw', dims: [4, 1, 3, 3], values: dw },
    { name: 'six', dims: [], values: [6] },
    { name: 'zero', dims: [], values: [0] },
    { name: 'gemm_w', dims: [5, 8], values: gemmW },
    { name: 'gemm_b', dims: [5], values: gemmB },
  ],
  nodes: [
    {
      op: 'Conv',
      name: 'conv',
      inputs: ['image', 'w1', 'b1'],
      attrs: { kernel_shape: [3, 3], pads: [1, 0, 1, 2], strides: [1, 2] },
    },
    {
      op: 'BatchNormalization',
      name: 'bn',
      inputs: ['conv', 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'],
      attrs: { epsilon: { float: 0.001 } },
    },
    { op: 'Relu', name: 'relu', inputs: ['bn'] },
    {
      op: 'Conv',
      name: 'depthwise',
      inputs: ['relu', 'dw'],
      attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 },
    },
    { op: 'Clip', name: 'clip', inputs: ['depthwise', 'zero', 'six'] },
    { op: 'Add', name: 'add', inputs: ['clip', 'relu'] },
    { op: 'MaxPool', name: 'pool', inputs: ['add'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    { op: 'Concat', name: 'concat', inputs: ['pool', 'pool'], attrs: { axis: 1 } },
    { op: 'GlobalAveragePool', name: 'gap', inputs: ['concat'] },
    { op: 'Flatten', name: 'flatten', inputs: ['gap'] },
    { op: 'Gemm', name: 'gemm', inputs: ['flatten', 'gemm_w', 'gemm_b'], attrs: { transB: 1 } },
  ],
  external,
});

/** The same network in tfjs ops, channels-last, from the ONNX-layout weights. */
function tfjsReference(x: tf.Tensor4D): Record<string, tf.Tensor> {
  const hwio = (w: Float32Array, [o, i, kh, kw]: number[]) =>
    tf.transpose(tf.tensor4d(w, [o, i, kh, kw]), [2, 3, 1, 0]) as tf.Tensor4D;
  const conv = tf.add(
    tf.conv2d(
      x,
      hwio(w1, [4, 3, 3, 3]),
      [1, 2],
      [
        [0, 0],
        [1, 1],
        [0, 2],
        [0, 0],
      ],
    ),
    tf.tensor1d(b1),
  );
  const bnOut = tf.batchNorm(
    conv,
    tf.tensor1d(bn.mean),
    tf.tensor1d(bn.variance),
    tf.tensor1d(bn.bias),
    tf.tensor1d(bn.scale),
    0.001,
  );
  const relu = tf.relu(bnOut);
  // Depthwise filter (4, 1, 3, 3) to tfjs' (kh, kw, in, multiplier).
  const depthwise = tf.depthwiseConv2d(
    relu as tf.Tensor4D,
    tf.transpose(tf.tensor4d(dw, [4, 1, 3, 3]), [2, 3, 0, 1]) as tf.Tensor4D,
    1,
    [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  );
  const clip = tf.clipByValue(depthwise, 0, 6);
  const add = tf.add(clip, relu);
  const pool = tf.maxPool(add as tf.Tensor4D, 2, 2, 'valid');
  const concat = tf.concat([pool, pool], 3);
  const gap = tf.mean(concat, [1, 2], true);
  const flatten = tf.reshape(gap, [N, 8]);
  const gemm = tf.add(tf.matMul(flatten, tf.tensor2d(gemmW, [5, 8]), false, true), tf.tensor1d(gemmB));
  return { conv, bn: bnOut, relu, depthwise, clip, add, pool, concat, gap, flatten, gemm };
}

const image = Float32Array.from(seededValues(N * H * W * C, 11, 1));

async function runAll(path: string) {
  const model = await openModel(path, { includeTop: true });
  const layers = model.net.layers.map((l) => l.name);
  const { forward } = await model.startEngine(layers, { engine: 'onnx', weights: 'imagenet' });
  const outputs = await forward.run(image, [N, H, W, C]);
  await forward.dispose();
  return { model, layers, outputs };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('every op equals tfjs on the same weights, within 1e-4 of the layer scale', async () => {
  const { model, layers, outputs } = await runAll(writeOnnxModel(join(dir, 'ops.onnx'), spec()));
  const reference = tfjsReference(tf.tensor4d(image, [N, H, W, C]));
  expect(layers).toEqual(Object.keys(reference));
  for (const [i, name] of layers.entries()) {
    const expected = reference[name].dataSync() as Float32Array;
    const diff = maxAbsDiff(outputs[i], expected);
    expect({ name, ok: diff <= 1e-4 * Math.max(1, scaleOf(expected)) }).toEqual({ name, ok: true });
    // The shape cnnviz inferred (no value_info in this file) is the shape that ran.
    const layer = model.net.layers[i];
    expect({ name, shape: layer.outputShape!.slice(1) }).toEqual({
      name,
      shape: [...reference[name].shape.slice(1)].map((d, k, all) =>
        all.length === 3 ? [all[2], all[0], all[1]][k] : d,
      ),
    });
  }
});

test('weights kept in an external data file beside the model give the same activations', async () => {
  const inline = await runAll(writeOnnxModel(join(dir, 'inline.onnx'), spec()));
  const externalDir = mkdtempSync(join(tmpdir(), 'cnnviz-onnx-ext-'));
  const external = await runAll(
    writeOnnxModel(join(externalDir, 'model.onnx'), spec({ file: 'model.onnx.data', dir: externalDir })),
  );
  inline.outputs.forEach((o, i) => expect(maxAbsDiff(o, external.outputs[i])).toBe(0));
  expect(external.model.net.params.total).toBe(4 * 27 + 4 + 16 + 36 + 2 + 40 + 5);
});

test('an ONNX Conv weight becomes the core kernel layout (kh, kw, in, out), depthwise with one input channel', async () => {
  const model = await openModel(join(dir, 'ops.onnx'), { includeTop: true });
  const { kernel } = await model.readKernel('conv', { weights: 'imagenet' });
  expect(kernel.shape).toEqual([3, 3, 3, 4]);
  // Element (f=2, c=1, i=0, j=2) of the (out, in, kh, kw) weight, by hand.
  expect(kernel.data[((0 * 3 + 2) * 3 + 1) * 4 + 2]).toBe(w1[((2 * 3 + 1) * 3 + 0) * 3 + 2]);
  const depthwise = await model.readKernel('depthwise', { weights: 'imagenet' });
  expect(depthwise.kernel.shape).toEqual([3, 3, 1, 4]);
});
